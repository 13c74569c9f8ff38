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
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk.git", exact: "0.12.1"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.4"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context.git", from: "1.0.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // Inner-product kernels (AVX-512 / AVX2 FMA) as a header-only module (static inline C, no
        // library to link): Core picks the one the CPU has; the portable Swift path is the fallback.
        .systemLibrary(name: "CVectorKernels"),

        // Wire and domain types. Foundation only: no NIO, no HTTP (and the vector kernels header).
        .target(name: "SwitchyardCore", dependencies: ["CVectorKernels"]),

        // Provider adapters over one shared AsyncHTTPClient.
        .target(
            name: "Providers",
            dependencies: [
                "SwitchyardCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
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

        // Learned routing: metrics (PGR, APGR, CPT), training data, kNN / logistic / MLP routers over
        // embeddings, calibration. Pure; embeddings come through SwitchyardCore's TextEmbedder.
        // Training loops are ~50x slower unoptimised; keep them optimised in debug builds too.
        .target(
            name: "LearnedRouting", dependencies: ["SwitchyardCore"],
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]
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
        .target(
            name: "Retrieval",
            dependencies: ["SwitchyardCore", "CVectorKernels", .product(name: "Logging", package: "swift-log")],
            // Distance loops and graph searches are ~20x slower unoptimised: optimised in debug builds too.
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),

        // Keys, teams, roles, budgets (reserve, then settle), rate limits (GCRA), the audit chain.
        // In memory on the request path; persisted through SwitchyardCore's GovernancePersistence.
        .target(name: "Governance", dependencies: ["SwitchyardCore", .product(name: "Crypto", package: "swift-crypto")]),

        // Guards: prompt-injection and PII detection (patterns with checksums, heads on the native encoder),
        // redaction, masking, policies. Pure: no I/O on the request path.
        .target(
            name: "Guardrails", dependencies: ["SwitchyardCore", "Embeddings"],
            // Scanners and heads run on every guarded request; unoptimised they are ~20x slower, also in tests.
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),

        // Evals: promptfoo-format suites, assertions and judges, the result cache, reports (JSON, CSV, HTML).
        // Calls go through an `EvalCompleter` (the gateway in process, or over HTTP), so this stays free of I/O stacks.
        .target(
            name: "Evaluation",
            dependencies: [
                "SwitchyardCore", "Guardrails",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ],
            // Suites of tens of thousands of cells are parsed, rendered and graded here: optimised in debug builds too.
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),

        // Declarative multi-step workflows: specs, templates, the engine and its checkpoints. Model calls go through a
        // `WorkflowStepRunner` the gateway implements, so this stays free of the pipeline and of I/O stacks.
        .target(name: "Workflows", dependencies: ["SwitchyardCore", "Evaluation", .product(name: "Tracing", package: "swift-distributed-tracing")]),

        // SQLite (GRDB) stores and migrations.
        .target(
            name: "Storage",
            dependencies: [
                "SwitchyardCore", "Governance",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // PostgreSQL (postgres-nio) stores for scale-out: the same persistence protocols as Storage,
        // plus what only a shared database can do (budgets and rate limits exact across replicas,
        // change notifications, leases).
        .target(
            name: "PostgresStorage",
            dependencies: [
                "SwitchyardCore", "Governance", "Storage",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MCP: client transports (stdio processes, Streamable HTTP), the tool manager, the /mcp protocol core.
        .target(
            name: "Tools",
            dependencies: [
                "SwitchyardCore",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // The request pipeline: config, routing, execution, accounting. HTTP-agnostic.
        .target(
            name: "Gateway",
            dependencies: [
                "SwitchyardCore", "Providers", "Storage", "Routing", "Caching", "LearnedRouting", "Retrieval", "Tools", "Governance", "Guardrails", "Embeddings",
                "Workflows", "Evaluation", "Telemetry",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        // Hummingbird application: the HTTP API.
        .target(
            name: "Server",
            dependencies: [
                "SwitchyardCore", "Gateway", "Governance",
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
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

        // Traces: a tracer for swift-distributed-tracing and an OTLP exporter (HTTP/protobuf and gRPC).
        .target(
            name: "Telemetry",
            dependencies: [
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),

        .executableTarget(
            name: "switchyard",
            dependencies: [
                "SwitchyardCore", "Gateway", "Server", "SwitchyardTesting", "Storage", "PostgresStorage", "Embeddings", "Caching", "LearnedRouting", "Retrieval", "Tools",
                "Governance", "Guardrails", "Evaluation", "Workflows",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "Telemetry",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
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
        .testTarget(name: "RoutingTests", dependencies: ["Routing", "SwitchyardCore"]),
        .testTarget(
            name: "GovernanceTests",
            dependencies: ["Governance", "Storage", "SwitchyardCore", .product(name: "GRDB", package: "GRDB.swift")]),
        // Needs a running PostgreSQL (SWITCHYARD_TEST_POSTGRES, started by scripts/test.sh).
        .testTarget(name: "PostgresStorageTests", dependencies: ["PostgresStorage", "Storage", "Governance", "SwitchyardCore", "Retrieval", "Workflows", "Caching"]),
        .testTarget(name: "LearnedRoutingTests", dependencies: ["LearnedRouting", "Routing", "SwitchyardCore"]),
        .testTarget(
            name: "ToolsTests",
            dependencies: [
                "Tools", "SwitchyardCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "CachingTests", dependencies: ["Caching", "Embeddings"]),
        .testTarget(
            name: "TelemetryTests",
            dependencies: [
                "Telemetry", .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
            ]),
        .testTarget(name: "EmbeddingsTests", dependencies: ["Embeddings"]),
        .testTarget(name: "GuardrailsTests", dependencies: ["Guardrails", "Embeddings", "SwitchyardCore"]),
        .testTarget(name: "WorkflowsTests", dependencies: ["Workflows", "Evaluation", "Storage", "SwitchyardCore"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Embeddings", "SwitchyardCore"]),
        .testTarget(name: "RetrievalTests", dependencies: ["Retrieval", "Storage", "SwitchyardCore", "Embeddings"]),
        // Fuzzing: seeded mutations of real requests, upstream answers, streams and configs, run for a
        // time budget (SWITCHYARD_FUZZ_SECONDS per target), plus the corpus of inputs that found bugs.
        .testTarget(
            name: "FuzzTests",
            dependencies: [
                "SwitchyardCore", "Gateway", "Providers", "Server", "SwitchyardTesting", "Tools",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "SwitchyardCore", "Gateway", "Providers", "Storage", "Server", "SwitchyardTesting", "Routing", "Caching",
                "Embeddings", "LearnedRouting", "Retrieval", "Tools", "Governance", "Guardrails", "Workflows",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ]
)
