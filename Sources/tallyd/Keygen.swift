import ArgumentParser
import Foundation
import TallyDaemon

/// `tallyd keygen <prefix>`: a new CURVE key pair in `<prefix>.key` (secret, 0600) and
/// `<prefix>.pub` (public), Z85 text from `zmq_curve_keypair`.
struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a CURVE key pair: <prefix>.key (secret, mode 0600) and <prefix>.pub.",
        discussion: """
            The server's .key goes to curve_secret_key_file; its .pub to every producer and
            subscriber. Each producer's .pub goes into curve_allowed_producers_dir.
            """)

    @Argument(help: "Path prefix of the two files, e.g. /etc/tally/server.")
    var prefix: String

    /// Fails (exit 1) when a file exists or libzmq has no CURVE (`zmq_curve_keypair`: ENOTSUP).
    func run() throws {
        do {
            let publicKey = try CurveKeyFile.writeKeyPair(prefix: prefix)
            print("wrote \(prefix).key and \(prefix).pub; public key \(publicKey)")
        } catch {
            FileHandle.standardError.write(Data("tallyd keygen: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
