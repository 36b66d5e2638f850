// swift-tools-version:6.1
// Tally: a telemetry collector for AI inference fleets. See README.md and docs/ARCHITECTURE.md.
import PackageDescription

/// Executables use jemalloc as the process allocator (libjemalloc-dev): ZeroMQ's
/// small-message path and the sketches' buffers allocate from many threads.
let jemalloc: [LinkerSetting] = [.linkedLibrary("jemalloc")]

let package = Package(
    name: "Tally",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tally-kernels", targets: ["tally-kernels"]),
        .library(name: "TallyWire", targets: ["TallyWire"]),
        .library(name: "TallySketches", targets: ["TallySketches"]),
        .library(name: "TallyClient", targets: ["TallyClient"]),
        .library(name: "TallyCore", targets: ["TallyCore"]),
        .library(name: "ZeroMQ", targets: ["ZeroMQ"]),
        .library(name: "TallyIndex", targets: ["TallyIndex"]),
        .executable(name: "tally-sketch", targets: ["tally-sketch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        // The web face (TallyHTTP) only: tallyd links it; the core, the index and the client do not.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // The PostgreSQL sink (TallyPostgres) only.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // libzmq through pkg-config; Debian package libzmq3-dev.
        .systemLibrary(
            name: "CZeroMQ",
            pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]
        ),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),
        .target(name: "TallyWire", exclude: ["FORMAT.md"]),
        .target(name: "TallySketches"),
        // Seeded generators and distributions: tests, benchmarks, reports, tally-load.
        .target(name: "TallySynthetic", dependencies: ["TallyWire"]),
        .target(name: "TallyClient", dependencies: ["ZeroMQ", "TallyWire"]),
        // Aggregation: series keys, per-series KPIs, windows, shards. No I/O.
        .target(name: "TallyCore", dependencies: ["TallyWire", "TallySketches"], exclude: ["SNAPSHOT.md"]),
        // The strict TOML subset of configuration, policy and profile files. No dependencies.
        .target(name: "TallyConfig"),
        // The index: policies, KPIs × scopes, lights, alerts, drift, fairness, canary verdicts.
        // Pure functions over snapshots: no sockets, files or clocks. Spec: INDEX.md.
        .target(name: "TallyIndex", dependencies: ["TallyCore", "TallySketches", "TallyWire", "TallyStatistics", "TallyConfig"],
                exclude: ["INDEX.md"]),
        // Statistics over sketches: drift distances, significance tests. Pure; used by TallyIndex.
        .target(name: "TallyStatistics", dependencies: ["TallySketches"]),
        // zlib through pkg-config (Debian zlib1g-dev): gzip bodies of OTLP/HTTP requests.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // OTLP/HTTP trace requests (protobuf, JSON, gzip) decoded and GenAI spans mapped to
        // trace frames. Pure: no sockets. Spec: OTLP.md.
        .target(name: "TallyOTLP", dependencies: ["TallyWire", "CZlib"], exclude: ["OTLP.md"]),

        .executableTarget(
            name: "tally-sketch",
            dependencies: ["TallySketches", "TallySynthetic", "TallyWire", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/tally-sketch",
            linkerSettings: jemalloc
        ),

        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
        .testTarget(name: "TallyWireTests", dependencies: ["TallyWire", "TallySynthetic"]),
        .testTarget(name: "TallySketchesTests", dependencies: ["TallySketches", "TallySynthetic"]),
        .testTarget(name: "TallySyntheticTests", dependencies: ["TallySynthetic", "TallyWire"]),
        .testTarget(name: "TallyCoreTests", dependencies: ["TallyCore", "TallyWire", "TallySketches", "TallySynthetic"]),
        // Fixtures shared by test targets (synthetic series and snapshots for the index).
        .target(name: "TallyTestSupport", dependencies: ["TallyIndex", "TallyCore", "TallyWire", "TallySynthetic"],
                path: "Tests/TallyTestSupport"),
        .testTarget(name: "TallyIndexTests", dependencies: ["TallyIndex", "TallyCore", "TallyWire", "TallySketches",
                                                            "TallySynthetic", "TallyConfig", "TallyTestSupport"]),
        .testTarget(name: "TallyStatisticsTests", dependencies: ["TallyStatistics", "TallySketches", "TallySynthetic"]),
        .testTarget(name: "TallyClientTests", dependencies: ["TallyClient", "TallyWire", "ZeroMQ"]),
        .testTarget(name: "TallyDaemonTests", dependencies: ["TallyDaemon", "TallyCore", "TallyIndex", "TallyTestSupport", "TallyClient", "TallyWire",
                                                             "TallySynthetic", "ZeroMQ"]),
        .testTarget(name: "TallyHTTPTests", dependencies: ["TallyHTTP", "TallyIndex", "TallyCore", "TallyWire", "TallyOTLP", "TallyTestSupport",
                                                            .product(name: "Hummingbird", package: "hummingbird")]),
        .testTarget(name: "TallyOTLPTests", dependencies: ["TallyOTLP", "TallyWire"]),

        // Inputs shared by the benchmark suites and the callgrind kernels (a busy window's snapshot).
        .target(name: "BenchmarkFixtures", dependencies: ["TallyCore", "TallySynthetic", "TallyWire"], path: "Benchmarks/Fixtures"),
        // Hot loops for valgrind instruction counts (Benchmarks/callgrind.sh).
        .executableTarget(
            name: "tally-kernels",
            dependencies: ["TallyWire", "TallySketches", "TallySynthetic", "TallyCore", "TallyIndex", "BenchmarkFixtures",
                           "TallyClient", "TallyDaemon"],
            path: "Benchmarks/Kernels",
            linkerSettings: jemalloc  // as tallyd: memory figures are jemalloc's
        ),
        .executableTarget(
            name: "WireBenchmarks",
            dependencies: ["TallyWire", "TallySynthetic", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/WireBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .target(
            name: "TallyDaemon",
            dependencies: ["TallyCore", "TallyWire", "TallyConfig", "TallyIndex", "ZeroMQ",
                           .product(name: "Logging", package: "swift-log")],
            path: "Sources/TallyDaemon"
        ),
        // tallyd's web face: dashboard, /metrics, JSON API on Hummingbird (its own event loops).
        .target(
            name: "TallyHTTP",
            dependencies: ["TallyCore", "TallyIndex", "TallySketches", "TallyWire", "TallyOTLP",
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "HTTPTypes", package: "swift-http-types"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        // The PostgreSQL sink: schema, migrations, window and series rows (SCHEMA.md).
        .target(
            name: "TallyPostgres",
            dependencies: ["TallyDaemon", "TallyCore", "TallySketches",
                           .product(name: "PostgresNIO", package: "postgres-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "Logging", package: "swift-log")],
            exclude: ["SCHEMA.md"]
        ),
        .testTarget(name: "TallyPostgresTests", dependencies: ["TallyPostgres", "TallyDaemon", "TallyCore", "TallySketches", "TallyIndex",
                                                               "TallySynthetic", "TallyWire", "TallyClient", "TallyTestSupport"]),
        .executableTarget(
            name: "tallyd",
            dependencies: ["TallyDaemon", "TallyIndex", "TallyHTTP", "TallyPostgres", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log")],
            path: "Sources/tallyd",
            linkerSettings: jemalloc
        ),
        .executableTarget(
            name: "tally-load",
            dependencies: ["TallyClient", "TallySynthetic", "TallyWire", "TallyDaemon", "TallyCore",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/tally-load",
            linkerSettings: jemalloc
        ),
        .executableTarget(
            name: "tally-count",
            dependencies: ["TallyWire", "TallyDaemon", "ZeroMQ", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/tally-count",
            linkerSettings: jemalloc
        ),
        .executableTarget(
            name: "tally-tail",
            dependencies: ["TallyDaemon", "TallyCore", "TallyIndex", "ZeroMQ",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/tally-tail"
        ),
        .executableTarget(
            name: "tally-index",
            dependencies: ["TallyDaemon", "TallyCore", "TallyIndex", "TallyPostgres",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log")],
            path: "Tools/tally-index"
        ),
        .executableTarget(
            name: "CoreBenchmarks",
            dependencies: ["TallyCore", "TallyWire", "TallySynthetic", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/CoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "IndexBenchmarks",
            dependencies: ["TallyIndex", "TallyCore", "BenchmarkFixtures", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/IndexBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "SketchBenchmarks",
            dependencies: ["TallySketches", "TallySynthetic", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/SketchBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
