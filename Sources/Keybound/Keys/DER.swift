//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// A bounded reader of DER (ITU-T X.690 §10) over one byte array: tag, length, contents, one element at a time.
///
/// It reads only the fixed shapes Keybound needs (a SubjectPublicKeyInfo, and the path to it inside a certificate);
/// it never recurses on its own, so its work is linear in the input. Strict: single-byte tags (every tag on that path
/// is one), definite lengths in their shortest form, no element running past its parent.
struct DERReader {
    let bytes: [UInt8]
    private(set) var position: Int
    let end: Int

    init(_ bytes: [UInt8]) {
        self.init(bytes, range: 0..<bytes.count)
    }

    private init(_ bytes: [UInt8], range: Range<Int>) {
        self.bytes = bytes
        self.position = range.lowerBound
        self.end = range.upperBound
    }

    /// One element: its tag, the range of its whole encoding and of its contents.
    struct Element {
        let tag: UInt8
        let encoding: Range<Int>
        let contents: Range<Int>
    }

    var isAtEnd: Bool { position == end }

    /// The tag of the next element, without reading it.
    var nextTag: UInt8? { position < end ? bytes[position] : nil }

    /// Reads the next element, which must carry `tag`.
    mutating func read(_ tag: UInt8, _ what: String) throws(KeyboundError) -> Element {
        let code = KeyboundError.Code.invalidKeyEncoding
        let start = position
        guard position < end else { throw .make(code, "DER ends before the \(what)") }
        guard bytes[position] == tag else { throw .make(code, "DER \(what) has the wrong tag") }
        guard bytes[position] & 0x1F != 0x1F else { throw .make(code, "DER multi-byte tag") }
        position += 1
        guard position < end else { throw .make(code, "DER ends inside the \(what)") }
        let first = bytes[position]
        position += 1
        var length = 0
        if first < 0x80 {
            length = Int(first)
        } else {
            let count = Int(first & 0x7F)
            // 0x80 is BER's indefinite length; more than 4 length bytes exceeds any input this reads.
            guard count >= 1, count <= 4, end - position >= count else {
                throw .make(code, "DER \(what) has an unsupported length")
            }
            guard bytes[position] != 0 else { throw .make(code, "DER \(what) length is not minimal") }
            for _ in 0..<count {
                length = length << 8 | Int(bytes[position])
                position += 1
            }
            guard length >= 0x80 else { throw .make(code, "DER \(what) length is not minimal") }
        }
        guard length <= end - position else { throw .make(code, "DER \(what) runs past its end (truncated?)") }
        let contents = position..<(position + length)
        position += length
        return Element(tag: tag, encoding: start..<position, contents: contents)
    }

    /// A reader over the contents of `element`.
    func reader(of element: Element) -> DERReader {
        DERReader(bytes, range: element.contents)
    }

    /// The contents of `element`, copied.
    func copy(_ element: Element) -> [UInt8] {
        Array(bytes[element.contents])
    }

    /// Skips the next element whatever its tag.
    mutating func skip(_ what: String) throws(KeyboundError) {
        guard let tag = nextTag else { throw .make(.invalidKeyEncoding, "DER ends before the \(what)") }
        _ = try read(tag, what)
    }

    /// Refuses anything left after the last element read.
    func expectEnd(_ what: String) throws(KeyboundError) {
        guard isAtEnd else { throw .make(.invalidKeyEncoding, "DER \(what) has trailing bytes") }
    }

    // Universal tags (X.690 §8.4).
    static let integer: UInt8 = 0x02
    static let bitString: UInt8 = 0x03
    static let null: UInt8 = 0x05
    static let objectIdentifier: UInt8 = 0x06
    static let sequence: UInt8 = 0x30
    /// `[0] EXPLICIT`, constructed (a certificate's version).
    static let contextZero: UInt8 = 0xA0
}
