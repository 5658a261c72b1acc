// swift-tools-version:6.2
//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import PackageDescription

/// The core and the C skin are checked for memory safety: every unsafe expression must be marked,
/// and an unmarked one fails the build.
let strictMemorySafety: [SwiftSetting] = [
    .strictMemorySafety(),
    .treatWarning("StrictMemorySafety", as: .error),
]

let package = Package(
    name: "keybound",
    products: [
        .library(name: "Keybound", targets: ["Keybound"]),
        // --- CLI and signing ---
        .library(name: "KeyboundSigning", targets: ["KeyboundSigning"]),
        .executable(name: "keybound", targets: ["keybound"]),
    ],
    dependencies: [
        // --- CLI and signing: argument parsing, for the `keybound` tool only ---
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // libcrypto from the system (OpenSSL 3, Debian's libssl-dev). Only Keybound/Crypto/OpenSSL imports it.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]
        ),
        // Lets Swift see the hand-written public C header, include/keybound.h.
        .target(name: "CKeybound"),
        // The verification core: no Foundation, no package dependencies.
        .target(
            name: "Keybound",
            dependencies: ["COpenSSL"],
            swiftSettings: strictMemorySafety
        ),
        // The README's "verify a request" example, compiled by every build (swift run keybound-example).
        .executableTarget(name: "keybound-example", dependencies: ["Keybound"], path: "Examples/VerifyRequest"),
        // Test support: counts the test thread's heap allocations (interposes malloc in the test binary only).
        .target(name: "CMallocCounter", path: "Tests/CMallocCounter"),
        .testTarget(
            name: "KeyboundTests",
            dependencies: ["Keybound", "CMallocCounter", "KeyboundSigning"],
            // JSON fixtures are read from the source tree by path, not bundled.
            exclude: ["Fixtures"]
        ),
        // --- CLI and signing ---
        // Signing (test keys, tokens, proofs): not part of the verification core.
        .target(name: "KeyboundSigning", dependencies: ["Keybound", "COpenSSL"]),
        .testTarget(name: "KeyboundSigningTests", dependencies: ["Keybound", "KeyboundSigning"]),
        // The command-line tool (issue 5). The only user of swift-argument-parser; may use Foundation.
        .executableTarget(
            name: "keybound",
            dependencies: [
                "Keybound", "KeyboundSigning", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Runs the built `keybound` binary (the dependency makes `swift build --build-tests` build it first).
        .testTarget(name: "KeyboundCLITests", dependencies: ["keybound", "Keybound", "KeyboundSigning"]),
    ]
)

// MARK: - C ABI (issue 4): libkeybound.so, its tests and the pure-C smoke consumer.
// The dynamic product is named KeyboundCABI (the CLI owns `keybound`); scripts/build-capi.sh installs it as
// libkeybound.so.0 with the static Swift stdlib, an export list and the SONAME passed on the command line.
package.products.append(.library(name: "KeyboundCABI", type: .dynamic, targets: ["KeyboundCABI"]))
package.targets.append(contentsOf: [
    // The @c @implementation exports of include/keybound.h (imported through CKeybound).
    .target(
        name: "KeyboundCABI",
        dependencies: ["Keybound", "CKeybound"],
        swiftSettings: strictMemorySafety
    ),
    // A pure-C consumer of the header, built and run by `swift run keybound-abi-smoke`.
    .executableTarget(name: "keybound-abi-smoke", dependencies: ["KeyboundCABI", "CKeybound"]),
    .testTarget(
        name: "KeyboundCABITests",
        dependencies: ["KeyboundCABI", "CKeybound", "Keybound", "CMallocCounter"]
    ),
])

// MARK: - Redis (issue 7): a shared replay store and fleet-wide revocations, behind the package trait "Redis".
// Off by default: `swift build` / `swift test` then never import or link hiredis (KeyboundRedis compiles to an empty
// module and the fleet tool to a stub). `swift build --traits Redis` turns it on: KeyboundRedis links Debian's
// libhiredis-dev (0.14) through CHiredis, the CLI gains `verify --replay-store`, KeyboundCABI the kb_redis_* exports
// (the KB_WITH_REDIS section of include/keybound.h; scripts/build-capi.sh --with-redis).
package.traits = [
    .trait(name: "Redis", description: "Redis replay store and revocation feed (needs libhiredis-dev)."),
]
package.targets.append(contentsOf: [
    .systemLibrary(
        name: "CHiredis",
        pkgConfig: "hiredis",
        providers: [.apt(["libhiredis-dev"]), .brew(["hiredis"])]
    ),
    .target(
        name: "KeyboundRedis",
        dependencies: ["Keybound", .target(name: "CHiredis", condition: .when(traits: ["Redis"]))]
    ),
    .testTarget(name: "KeyboundRedisTests", dependencies: ["Keybound", "KeyboundSigning", "KeyboundRedis"]),
    // Fleet test and benchmark driver for scripts/ci/redis.sh (several verifier processes sharing one Redis).
    .executableTarget(
        name: "keybound-fleet",
        dependencies: ["Keybound", "KeyboundSigning", "KeyboundRedis"],
        path: "tests/fleet/Sources"
    ),
])
for target in package.targets {
    switch target.name {
    case "keybound":
        target.dependencies.append("KeyboundRedis")
    case "KeyboundCABI":
        target.dependencies.append("KeyboundRedis")
        // Lets the @c @implementation exports see the guarded kb_redis_* declarations of include/keybound.h.
        target.swiftSettings = (target.swiftSettings ?? []) + [
            .unsafeFlags(["-Xcc", "-DKB_WITH_REDIS"], .when(traits: ["Redis"])),
        ]
    default:
        break
    }
}

// MARK: - Benchmarks (issue 6): the raw-OpenSSL baseline that `keybound bench` measures the verifier against.
// Plain libcrypto calls in C, nothing of Keybound's; only the CLI links it.
package.targets.append(.target(name: "CKeyboundBench", linkerSettings: [.linkedLibrary("crypto")]))
for target in package.targets where target.name == "keybound" {
    target.dependencies.append("CKeyboundBench")
}

// MARK: - Hardening (issue 9): the CLI's batch reader as a library, so that Fuzz/Targets/batch-line fuzzes the very
// code `keybound verify --batch` runs. Its API is `@_spi(Batch)`: for the CLI and the fuzzer, not a stable product.
package.products.append(.library(name: "KeyboundBatch", targets: ["KeyboundBatch"]))
package.targets.append(contentsOf: [
    .target(name: "KeyboundBatch", dependencies: ["Keybound", "KeyboundSigning"]),
    .testTarget(name: "KeyboundBatchTests", dependencies: ["KeyboundBatch", "Keybound"]),
])
for target in package.targets where target.name == "keybound" {
    target.dependencies.append("KeyboundBatch")
}

// MARK: - Crypto backends (issue 10): OpenSSL (default trait) and swift-crypto (trait "SwiftCrypto").
// The core's signature, key, digest and MAC calls go through a `CryptoBackend` chosen per verifier. The OpenSSL backend
// (Keybound/Crypto/OpenSSL) is compiled in by the default trait "OpenSSL"; without it the core links no libcrypto and
// `CryptoBackend.default` fails closed. The swift-crypto backend (BoringSSL inside swift-crypto) lives in its own
// module, KeyboundSwiftCrypto, which compiles to an empty module unless the trait "SwiftCrypto" is on:
//   swift build --traits default,SwiftCrypto                       both backends, OpenSSL the default
//   swift build --disable-default-traits --traits SwiftCrypto      swift-crypto only, no libcrypto anywhere in the core
package.traits.insert(
    .trait(name: "OpenSSL", description: "The OpenSSL 3 backend over the system libcrypto (libssl-dev).")
)
package.traits.insert(
    .trait(name: "SwiftCrypto", description: "The swift-crypto (BoringSSL) backend, KeyboundSwiftCrypto.")
)
package.traits.insert(.default(enabledTraits: ["OpenSSL"]))
package.dependencies.append(.package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"))
// `import KeyboundSwiftCrypto` (CryptoBackend.swiftCrypto) for dependents; empty unless the trait is on.
package.products.append(.library(name: "KeyboundSwiftCrypto", targets: ["KeyboundSwiftCrypto"]))
package.targets.append(contentsOf: [
    .target(
        name: "KeyboundSwiftCrypto",
        dependencies: [
            "Keybound",
            // ECDSA, RSA, SHA-2 and HMAC through the Crypto product's vendored BoringSSL, Ed25519 through Crypto.
            .product(name: "Crypto", package: "swift-crypto", condition: .when(traits: ["SwiftCrypto"])),
        ]
    ),
])
for target in package.targets {
    switch target.name {
    case "Keybound":
        // libcrypto only with the OpenSSL backend.
        target.dependencies = [.target(name: "COpenSSL", condition: .when(traits: ["OpenSSL"]))]
    case "KeyboundCABI", "KeyboundCABITests":
        target.dependencies.append("KeyboundSwiftCrypto")
    case "keybound":
        // `keybound bench --backend swift-crypto|all` and its raw swift-crypto baseline.
        target.dependencies += [
            "KeyboundSwiftCrypto",
            .product(name: "Crypto", package: "swift-crypto", condition: .when(traits: ["SwiftCrypto"])),
            .product(name: "_CryptoExtras", package: "swift-crypto", condition: .when(traits: ["SwiftCrypto"])),
        ]
    case "KeyboundTests":
        // The differential test signs its faulty inputs (PSS with other salts, too) with swift-crypto.
        target.dependencies += [
            "KeyboundSwiftCrypto",
            .product(name: "Crypto", package: "swift-crypto", condition: .when(traits: ["SwiftCrypto"])),
            .product(name: "_CryptoExtras", package: "swift-crypto", condition: .when(traits: ["SwiftCrypto"])),
        ]
    default:
        break
    }
}
