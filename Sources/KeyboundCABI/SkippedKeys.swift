//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import CKeybound
import Keybound

/// The skipped entries of an issuer's key set (RFC 7517 §5), one line at a time.
@c @implementation
public func kb_verifier_skipped_key(
    _ verifier: OpaquePointer?,
    _ issuer: UnsafePointer<UInt8>?, _ issuerLength: Int,
    _ index: Int,
    _ count: UnsafeMutablePointer<Int>?,
    _ text: UnsafeMutablePointer<CChar>?, _ textLength: Int
) -> kb_status {
    guard let output = try? unsafe ErrorBuffer(text, textLength), let count = unsafe count,
        let box = unsafe VerifierBox.from(verifier),
        let identifier = try? unsafe cString(issuer, issuerLength)
    else { return Status.invalidArgument }
    guard let keys = box.verifier.keys(forIssuer: identifier) else { return Status.invalidConfig }
    let skipped = keys.skippedKeys
    unsafe count.pointee = skipped.count
    output.write(index >= 0 && index < skipped.count ? skipped[index].description : "")
    return Status.ok
}
