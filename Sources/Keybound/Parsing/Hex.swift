//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

extension UInt8 {
    /// The value of this byte as an ASCII hex digit, either case (RFC 4648 §8, RFC 3986 §2.1), or `nil`.
    package var hexDigitValue: UInt8? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): self &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): self &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): self &- UInt8(ascii: "A") &+ 10
        default: nil
        }
    }
}

extension Array where Element == UInt8 {
    /// The bytes of hex text, two digits of either case a byte (empty text: no bytes); `nil` when the text has an
    /// odd length or a byte that is not a hex digit. For the package's tools and tests (nonce secrets, vectors).
    package init?(hexDigits text: some StringProtocol) {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = digits[index].hexDigitValue, let low = digits[index &+ 1].hexDigitValue else { return nil }
            bytes.append(high &<< 4 | low)
            index &+= 2
        }
        self = bytes
    }
}
