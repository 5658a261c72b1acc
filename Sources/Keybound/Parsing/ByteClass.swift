//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// A set of byte values as a 256-entry table (non-zero for members), for ``ByteView/prefixCount(inClass:)``: the
/// hot scans test a class with one load per byte instead of a chain of range comparisons.
@usableFromInline
struct ByteClass: Sendable {
    @usableFromInline
    let members: [UInt8]

    init(_ isMember: (UInt8) -> Bool) {
        members = (0..<256).map { isMember(UInt8(truncatingIfNeeded: $0)) ? 1 : 0 }
    }

    /// The characters of token68 before its "=" padding (RFC 9110 §11.2): ALPHA / DIGIT / "-" / "." / "_" / "~" /
    /// "+" / "/".
    static let token68 = ByteClass { byte in
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"):
            true
        default:
            false
        }
    }

    /// Bytes that stand for themselves inside a JSON string and need no further check: printable ASCII other than
    /// `"` and `\` (RFC 8259 §7: `unescaped = %x20-21 / %x23-5B / %x5D-10FFFF`, of which the non-ASCII part is
    /// validated as UTF-8 separately).
    static let plainJSONString = ByteClass { byte in
        byte >= 0x20 && byte < 0x80 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\")
    }
}
