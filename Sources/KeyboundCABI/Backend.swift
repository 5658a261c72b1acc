//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import CKeybound
import Keybound

#if SwiftCrypto
import KeyboundSwiftCrypto
#endif

/// The crypto backends of this library: OpenSSL when built with the trait `OpenSSL` (the usual flavour),
/// swift-crypto when built with `SwiftCrypto` (`scripts/build-capi.sh --backend swift-crypto` builds it alone, with
/// no libcrypto).
enum CABIBackend {
    /// The OpenSSL backend, when compiled in (trait `OpenSSL`).
    static var openSSL: CryptoBackend? {
        #if OpenSSL
        .openSSL
        #else
        nil
        #endif
    }

    /// The swift-crypto backend, when compiled in (trait `SwiftCrypto`).
    static var swiftCrypto: CryptoBackend? {
        #if SwiftCrypto
        .swiftCrypto
        #else
        nil
        #endif
    }

    /// The library's default: OpenSSL when compiled in, else swift-crypto, else the core's fail-closed default.
    static var libraryDefault: CryptoBackend { openSSL ?? swiftCrypto ?? .default }

    /// The backend a `KB_BACKEND_*` value names: `nil` for an unknown value, `.some(nil)` for a known backend this
    /// library lacks.
    static func named(_ value: kb_backend) -> CryptoBackend?? {
        switch value {
        case Int32(KB_BACKEND_DEFAULT): .some(libraryDefault)
        case Int32(KB_BACKEND_OPENSSL): .some(openSSL)
        case Int32(KB_BACKEND_SWIFT_CRYPTO): .some(swiftCrypto)
        default: nil
        }
    }

    /// The static C string of a backend name.
    @unsafe
    static func cName(_ backend: CryptoBackend) -> UnsafePointer<CChar> {
        let name: StaticString =
            switch backend.name {
            case "openssl": "openssl"
            case "swift-crypto": "swift-crypto"
            default: "none"
            }
        return unsafe name.cString
    }
}

// MARK: - Exports

@c @implementation
public func kb_backend_name() -> UnsafePointer<CChar> {
    unsafe CABIBackend.cName(CABIBackend.libraryDefault)
}

@c @implementation
public func kb_backend_available(_ backend: kb_backend) -> Int32 {
    if case .some(.some) = CABIBackend.named(backend) { return 1 }
    return 0
}

@c @implementation
public func kb_verifier_backend_name(_ verifier: OpaquePointer?) -> UnsafePointer<CChar> {
    guard let box = unsafe VerifierBox.from(verifier) else {
        let empty: StaticString = ""
        return unsafe empty.cString
    }
    return unsafe CABIBackend.cName(box.verifier.backend)
}

@c @implementation
public func kb_config_set_backend(_ cfg: OpaquePointer?, _ backend: kb_backend) -> kb_status {
    guard let box = unsafe ConfigBox.from(cfg) else { return Status.invalidArgument }
    guard let known = CABIBackend.named(backend) else { return Status.invalidArgument }
    guard let chosen = known else { return Status.invalidConfig }
    box.backend = chosen
    return Status.ok
}
