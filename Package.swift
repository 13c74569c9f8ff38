// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Switchyard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "switchyard", targets: ["switchyard"]),
        .library(name: "SwitchyardCore", targets: ["SwitchyardCore"]),
        .library(name: "Gateway", targets: ["Gateway"]),
        .library(name: "Server", targets: ["Server"]),
        .library(name: "SwitchyardTesting", targets: ["SwitchyardTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    ],
    targets: [
        // Wire and domain types. Foundation only: no NIO, no HTTP.
        .target(name: "SwitchyardCore"),

        // Provider adapters over one shared AsyncHTTPClient.
        .target(
            name: "Providers",
            dependencies: [
                "SwitchyardCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Routing decisions: strategies, circuit breakers, retries. Pure, with an injected clock.
        .target(name: "Routing", dependencies: ["SwitchyardCore"]),

        // Exact and semantic response cache.
        .target(
            name: "Caching",
            dependencies: ["SwitchyardCore", .product(name: "Crypto", package: "swift-crypto")]
        ),

        // Native sentence embeddings (all-MiniLM-L6-v2).
        // AVX-512 kernels as a header-only module (static inline C, no library to link).
        .systemLibrary(name: "CMiniLMKernels"),
        .target(
            name: "Embeddings",
            dependencies: ["SwitchyardCore", "CMiniLMKernels", .product(name: "Crypto", package: "swift-crypto")],
            // The encoder's SIMD loops are ~50x slower unoptimised; keep them optimised in debug builds too.
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),

        // Context engineering: collections, loaders, chunkers, HNSW, BM25, fusion, packing.
        .target(name: "Retrieval", dependencies: ["SwitchyardCore"]),

        // SQLite (GRDB) stores and migrations.
        .target(
            name: "Storage",
            dependencies: [
                "SwitchyardCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The request pipeline: config, routing, execution, accounting. HTTP-agnostic.
        .target(
            name: "Gateway",
            dependencies: [
                "SwitchyardCore", "Providers", "Storage", "Routing", "Caching",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        // Hummingbird application: the HTTP API.
        .target(
            name: "Server",
            dependencies: [
                "SwitchyardCore", "Gateway",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // Mock upstreams speaking each provider's wire protocol, for users and tests.
        .target(
            name: "SwitchyardTesting",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),

        .executableTarget(
            name: "switchyard",
            dependencies: [
                "SwitchyardCore", "Gateway", "Server", "SwitchyardTesting", "Storage", "Embeddings", "Caching",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        .testTarget(name: "SwitchyardCoreTests", dependencies: ["SwitchyardCore"]),
        .testTarget(
            name: "SwitchyardTestingTests",
            dependencies: [
                "SwitchyardTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "RoutingTests", dependencies: ["Routing"]),
        .testTarget(name: "CachingTests", dependencies: ["Caching", "Embeddings"]),
        .testTarget(name: "EmbeddingsTests", dependencies: ["Embeddings"]),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "SwitchyardCore", "Gateway", "Providers", "Storage", "Server", "SwitchyardTesting", "Routing", "Caching",
                "Embeddings",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ]
)

// Retrieval (issue 6, search core). Kept in one block at the end so that edits to the target list above
// merge cleanly: Retrieval is optimised in debug builds too (its distance loops and graph searches are
// ~20x slower unoptimised) and uses CRetrievalKernels, a header-only module of AVX-512/AVX2 inner-product
// kernels (nothing to link; Retrieval checks the CPU before calling them and has a portable Swift path).
// The CLI uses Retrieval, and RetrievalTests is declared here unless the list above already has it.
package.targets.append(.systemLibrary(name: "CRetrievalKernels"))
for target in package.targets where target.name == "Retrieval" {
    target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-O"], .when(configuration: .debug))]
    target.dependencies.append("CRetrievalKernels")
}
for target in package.targets where target.name == "switchyard" {
    let hasRetrieval = target.dependencies.contains { if case .byNameItem(name: "Retrieval", _) = $0 { true } else { false } }
    if !hasRetrieval { target.dependencies.append("Retrieval") }
}
if !package.targets.contains(where: { $0.name == "RetrievalTests" }) {
    package.targets.append(.testTarget(name: "RetrievalTests", dependencies: ["Retrieval"]))
}
