import Testing
@testable import TallyDaemon

/// The PUB stream's first part, byte for byte as STORAGE.md ("The PUB stream") states it.
@Suite struct PubHeaderTests {
    @Test func sequenceFollowsTheTopicLittleEndian() {
        let header = PubSink.header(sequence: 0x0102_0304_0506_0708)
        #expect(header == Array("tally.snapshot".utf8) + [0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01])
        let index = PubSink.header(sequence: 1, topic: PubSink.indexTopic)
        #expect(index == Array("tally.index".utf8) + [1, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func readingAHeaderReversesWritingIt() {
        for sequence: UInt64 in [0, 1, 255, 256, 0x0102_0304_0506_0708, .max] {
            #expect(PubSink.sequence(inHeader: PubSink.header(sequence: sequence)) == sequence)
            #expect(PubSink.sequence(inHeader: PubSink.header(sequence: sequence, topic: PubSink.indexTopic),
                                     topic: PubSink.indexTopic) == sequence)
        }
    }

    @Test func otherHeadersAreNotRead() {
        let snapshotHeader = PubSink.header(sequence: 7)
        #expect(PubSink.sequence(inHeader: snapshotHeader, topic: PubSink.indexTopic) == nil)
        #expect(PubSink.sequence(inHeader: Array(snapshotHeader.dropLast())) == nil)
        #expect(PubSink.sequence(inHeader: snapshotHeader + [0]) == nil)
        #expect(PubSink.sequence(inHeader: []) == nil)
    }
}
