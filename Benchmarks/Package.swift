// swift-tools-version:6.1
//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import PackageDescription

/// The benchmark harness, a separate package so that Keybound's users never download it.
/// Run from this folder: `swift package --disable-sandbox benchmark` (see BENCHMARKS.md at the repository root).

/// SwiftPM names a path dependency after its folder, so the main package's identity is the checkout's folder name.
let core = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "keybound").lowercased()

/// One benchmark suite: an executable in Benchmarks/NAME run by the benchmark plugin, with what every suite uses
/// (the harness, Keybound, signing, the tests' support, the fixtures) and its own `extra` dependencies.
func suite(_ name: String, _ extra: [Target.Dependency] = []) -> Target {
    .executableTarget(
        name: name,
        dependencies: [
            .product(name: "Benchmark", package: "benchmark"),
            .product(name: "Keybound", package: core),
            .product(name: "KeyboundSigning", package: core),
            // SplitMix64 and the bounded-work JSON, shared with the tests.
            .product(name: "KeyboundTestSupport", package: core),
            "BenchmarkFixtures",
        ] + extra,
        path: "Benchmarks/\(name)",
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
}

/// The swift-crypto backend (`CryptoBackend.swiftCrypto`), for the suites that verify on both backends.
let swiftCryptoBackend: Target.Dependency = .product(name: "KeyboundSwiftCrypto", package: core)

let package = Package(
    name: "benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Both backends: "default" keeps the OpenSSL trait on (a bare trait list would replace it).
        .package(path: "../", traits: ["default", "SwiftCrypto"]),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        // The Peers suite: the same DPoP checks done with jwt-kit.
        .package(url: "https://github.com/vapor/jwt-kit", exact: "5.8.0"),
    ],
    targets: [
        // Keys, tokens and proofs for every suite, built before anything is measured.
        .target(
            name: "BenchmarkFixtures",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Keybound", package: core),
                .product(name: "KeyboundSigning", package: core),
            ],
            path: "Sources/BenchmarkFixtures"
        ),
        // Raw libcrypto verification (the floor every ratio is taken against): nothing of Keybound's.
        .target(name: "CBaseline", path: "Sources/CBaseline", linkerSettings: [.linkedLibrary("crypto")]),

        // MARK: - Suites
        suite("Parse"),
        suite("Keys"),
        suite("Verify", [swiftCryptoBackend]),
        suite("Replay"),
        suite("CABI", [.product(name: "KeyboundCABI", package: core)]),
        suite("Baseline", ["CBaseline"]),
        suite("Peers", [swiftCryptoBackend, .product(name: "JWTKit", package: "jwt-kit")]),
    ]
)
