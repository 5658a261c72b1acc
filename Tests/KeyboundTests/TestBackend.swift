//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Keybound

#if SwiftCrypto
import KeyboundSwiftCrypto
#endif

extension CryptoBackend {
    /// The backend every test in this target builds verifiers, key sets, keys, nonces and thumbprints on, chosen by
    /// `KEYBOUND_TEST_BACKEND` (`openssl`, the default, or `swift-crypto`), so the whole suite runs on either:
    ///
    ///     swift test --traits default,SwiftCrypto                                   # OpenSSL
    ///     KEYBOUND_TEST_BACKEND=swift-crypto swift test --traits default,SwiftCrypto
    ///
    /// Asking for a backend this build lacks stops the test process at once, loudly: a run never falls back silently.
    static let forTests: CryptoBackend = {
        let requested = ProcessInfo.processInfo.environment["KEYBOUND_TEST_BACKEND"] ?? "openssl"
        switch requested {
        case "openssl", "":
            #if OpenSSL
            return .openSSL
            #else
            fatalError("KEYBOUND_TEST_BACKEND=openssl, but this build has no OpenSSL backend (trait OpenSSL is off)")
            #endif
        case "swift-crypto":
            #if SwiftCrypto
            return .swiftCrypto
            #else
            fatalError(
                "KEYBOUND_TEST_BACKEND=swift-crypto, but this build lacks the swift-crypto backend: "
                    + "run swift test --traits default,SwiftCrypto"
            )
            #endif
        default:
            fatalError("KEYBOUND_TEST_BACKEND=\(requested): expected openssl or swift-crypto")
        }
    }()
}
