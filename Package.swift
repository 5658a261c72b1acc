// swift-tools-version:6.2
//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import PackageDescription

// What an embedding service needs: the verification core, its two crypto backends, the C ABI, signing, the Redis
// replay store and the `keybound` tool. Everything that pulls in a server stack (Hummingbird, Vapor, HTTP clients)
// lives in the integrations package, Integrations/Package.swift. docs/design.md describes the layers.
//
// Traits (SE-0450):
//   OpenSSL      (default) the OpenSSL 3 backend over the system libcrypto (Debian's libssl-dev)
//   SwiftCrypto  the swift-crypto backend (its vendored BoringSSL), module KeyboundSwiftCrypto
//   Redis        the Redis replay store and revocation feed (Debian's libhiredis-dev), module KeyboundRedis
// A module whose trait is off compiles to an empty module, and its package dependency is neither fetched nor built:
//   swift build                                                    OpenSSL only
//   swift build --traits default,SwiftCrypto                       both backends, OpenSSL the default
//   swift build --disable-default-traits --traits SwiftCrypto      swift-crypto only, no libcrypto in the core
//   swift build --traits default,Redis                             OpenSSL and the Redis replay store

// MARK: - Settings

/// The core and the C ABI are checked for memory safety: every unsafe expression must be marked, and an unmarked one
/// fails the build.
let strictMemorySafety: [SwiftSetting] = [
    .strictMemorySafety(),
    .treatWarning("StrictMemorySafety", as: .error),
]

// MARK: - Dependencies that a trait turns on

/// libcrypto, for the OpenSSL backend.
let openSSL: Target.Dependency = .target(name: "COpenSSL", condition: .when(traits: ["OpenSSL"]))
/// hiredis, for the Redis replay store.
let hiredis: Target.Dependency = .target(name: "CHiredis", condition: .when(traits: ["Redis"]))
/// swift-crypto's public API (Ed25519, and the BoringSSL it vendors).
let swiftCrypto: Target.Dependency = .product(
    name: "Crypto", package: "swift-crypto", condition: .when(traits: ["SwiftCrypto"])
)
/// swift-crypto's RSA, for the raw swift-crypto baselines and the tests' signers only (the backend does not use it).
let swiftCryptoExtras: Target.Dependency = .product(
    name: "_CryptoExtras", package: "swift-crypto", condition: .when(traits: ["SwiftCrypto"])
)
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
    name: "keybound",
    products: [
        .library(name: "Keybound", targets: ["Keybound"]),
        // `CryptoBackend.swiftCrypto`; an empty module unless the trait SwiftCrypto is on.
        .library(name: "KeyboundSwiftCrypto", targets: ["KeyboundSwiftCrypto"]),
        // `RedisReplayStore`, `LayeredReplayStore`, `RedisRevocationFeed`; empty unless the trait Redis is on.
        .library(name: "KeyboundRedis", targets: ["KeyboundRedis"]),
        // Keys, access tokens and proofs for tests, demos and tools; not part of verification.
        .library(name: "KeyboundSigning", targets: ["KeyboundSigning"]),
        // The C ABI (include/keybound.h). scripts/build-capi.sh installs it as libkeybound.so.0 with the static Swift
        // standard library, an export list and a SONAME; the product is not named `keybound` (the tool is).
        .library(name: "KeyboundCABI", type: .dynamic, targets: ["KeyboundCABI"]),
        // The reader of `keybound verify --batch`, a product for the fuzzers. `@_spi(Batch)`: not a stable API.
        .library(name: "KeyboundBatch", targets: ["KeyboundBatch"]),
        // `VerifiedRequest.decodeClaims(as:)`: the token's claims into a caller's `Decodable` type, with Foundation's
        // JSONDecoder (which the core does not use).
        .library(name: "KeyboundCodable", targets: ["KeyboundCodable"]),
        // The tests' shared helpers (SplitMix64, the bounded-work JSON, encodings, vectors), a product so that the
        // repository's other packages (Benchmarks/) build their inputs the same way. Not an API: it may change at
        // any time (like NIO's NIOTestUtils).
        .library(name: "KeyboundTestSupport", targets: ["KeyboundTestSupport"]),
        .executable(name: "keybound", targets: ["keybound"]),
    ],
    traits: [
        .trait(name: "OpenSSL", description: "The OpenSSL 3 backend over the system libcrypto (libssl-dev)."),
        .trait(name: "SwiftCrypto", description: "The swift-crypto (BoringSSL) backend, module KeyboundSwiftCrypto."),
        .trait(name: "Redis", description: "Redis replay store and revocation feed (needs libhiredis-dev)."),
        .default(enabledTraits: ["OpenSSL"]),
    ],
    dependencies: [
        // The `keybound` tool's options. Users of the library resolve it too (SwiftPM resolves a package's
        // dependencies whatever product is used) but build it only with the tool.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Only with the trait SwiftCrypto: neither fetched nor built otherwise.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // MARK: - C modules

        // libcrypto from the system (OpenSSL 3). Only Sources/Keybound/Crypto/OpenSSL and KeyboundSigning import it.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]
        ),
        // hiredis from the system, for KeyboundRedis.
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"]), .brew(["hiredis"])]
        ),
        // Swift's view of the hand-written public headers: include/keybound.h (module CKeybound) and
        // include/keybound_redis.h (module CKeyboundRedis).
        .target(name: "CKeybound"),
        // The raw-libcrypto baseline that `keybound bench` measures Keybound against: nothing of Keybound's.
        .target(name: "CKeyboundBench", linkerSettings: [.linkedLibrary("crypto")]),
        // CPU hints the core cannot spell in Swift (a prefetch before the replay cache's stripe lock): one header of
        // static inline functions, nothing linked.
        .target(name: "CKeyboundHints"),

        // MARK: - Core

        // Verification: no Foundation, no package dependencies, libcrypto only with the OpenSSL backend.
        .target(name: "Keybound", dependencies: ["CKeyboundHints", openSSL], swiftSettings: strictMemorySafety),

        // MARK: - Backends and stores

        // The swift-crypto backend (BoringSSL through swift-crypto).
        .target(name: "KeyboundSwiftCrypto", dependencies: ["Keybound", swiftCrypto]),
        // A replay store shared by many instances, and fleet-wide revocations, over Redis.
        .target(name: "KeyboundRedis", dependencies: ["Keybound", hiredis]),

        // MARK: - C ABI

        // The @c @implementation exports of include/keybound.h (and keybound_redis.h with the trait Redis).
        .target(
            name: "KeyboundCABI",
            dependencies: ["Keybound", "CKeybound", "KeyboundSwiftCrypto", "KeyboundRedis"],
            swiftSettings: strictMemorySafety
        ),

        // MARK: - Signing and tools

        // Signing (test keys, tokens, proofs): not part of the verification core.
        .target(name: "KeyboundSigning", dependencies: ["Keybound", "COpenSSL"]),
        // Decodable claims over Foundation's JSONDecoder; the core stays free of Foundation.
        .target(name: "KeyboundCodable", dependencies: ["Keybound"]),
        // The JSON-lines request reader of `keybound verify --batch`.
        .target(name: "KeyboundBatch", dependencies: ["Keybound"]),
        // `keybound bench`: workloads, the measuring loop and the raw baselines.
        .target(
            name: "KeyboundBench",
            dependencies: [
                "Keybound", "KeyboundSigning", "KeyboundSwiftCrypto", "CKeyboundBench", swiftCrypto, swiftCryptoExtras,
            ]
        ),
        // The command-line tool; may use Foundation.
        .executableTarget(
            name: "keybound",
            dependencies: ["Keybound", "KeyboundSigning", "KeyboundBatch", "KeyboundBench", "KeyboundRedis", argumentParser]
        ),

        // MARK: - Examples and consumers inside the package

        // The README's "verify a request" example, compiled by every build (swift run keybound-example).
        .executableTarget(name: "keybound-example", dependencies: ["Keybound"], path: "Examples/swift/VerifyRequest"),
        // A pure-C consumer of the header, built and run by `swift run keybound-abi-smoke`.
        .executableTarget(name: "keybound-abi-smoke", dependencies: ["KeyboundCABI", "CKeybound"]),
        // The fleet driver of scripts/ci/redis.sh: several verifier processes sharing one Redis.
        .executableTarget(
            name: "keybound-fleet",
            // KeyboundTestSupport: the independent replay-key oracle the Redis unit tests use too.
            dependencies: ["Keybound", "KeyboundSigning", "KeyboundRedis", "KeyboundTestSupport"],
            path: "IntegrationTests/fleet/Sources"
        ),

        // MARK: - Tests

        // What several suites share: the SplitMix64 generator, request fixtures, the repository's paths.
        .target(
            name: "KeyboundTestSupport",
            dependencies: ["Keybound", "KeyboundSigning"],
            path: "Tests/KeyboundTestSupport"
        ),
        // Counts the test thread's heap allocations (interposes malloc in the test binaries only).
        .target(name: "CMallocCounter", path: "Tests/CMallocCounter"),
        .testTarget(
            name: "KeyboundTests",
            dependencies: [
                "Keybound", "KeyboundSigning", "KeyboundSwiftCrypto", "KeyboundTestSupport", "CMallocCounter",
                // The backend differential test signs its faulty inputs (PSS with other salts too) with swift-crypto.
                swiftCrypto, swiftCryptoExtras,
            ],
            // JSON fixtures are read from the source tree by path, not bundled.
            exclude: ["Fixtures"]
        ),
        .testTarget(name: "KeyboundSigningTests", dependencies: ["Keybound", "KeyboundSigning", "KeyboundTestSupport"]),
        .testTarget(name: "KeyboundBatchTests", dependencies: ["Keybound", "KeyboundBatch"]),
        .testTarget(
            name: "KeyboundCodableTests",
            dependencies: ["Keybound", "KeyboundCodable", "KeyboundSigning", "KeyboundTestSupport"]
        ),
        .testTarget(
            name: "KeyboundCABITests",
            dependencies: ["KeyboundCABI", "CKeybound", "Keybound", "KeyboundSwiftCrypto", "CMallocCounter"]
        ),
        .testTarget(
            name: "KeyboundRedisTests",
            dependencies: ["Keybound", "KeyboundSigning", "KeyboundRedis", "KeyboundTestSupport"]
        ),
        // Runs the built `keybound` binary (the dependency makes `swift build --build-tests` build it first).
        .testTarget(
            name: "KeyboundCLITests",
            dependencies: ["keybound", "Keybound", "KeyboundSigning", "KeyboundTestSupport"]
        ),
    ]
)
