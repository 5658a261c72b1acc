//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// The textual encoding of RFC 7468 ("PEM"): `-----BEGIN LABEL-----`, base64 lines, `-----END LABEL-----`.
///
/// Only the armour is read here; the DER inside goes to ``SubjectPublicKeyInfo`` and the crypto backend. The rules
/// (docs/design.md "Contracts → Issuer keys as PEM"):
/// - text outside the blocks is ignored (RFC 7468 §2: explanatory text such as `openssl x509 -text` output);
/// - a block's base64 is the standard alphabet (RFC 4648 §4) with canonical `=` padding, split over lines, with
///   spaces, tabs and CR allowed at line ends; RFC 1421 headers (`Proc-Type:`) are not read;
/// - the END label equals the BEGIN label; every block is closed;
/// - a block whose label names a private key (any label containing `PRIVATE KEY`) refuses the whole text with
///   ``KeyboundError/Code/privateKeyGiven``, whatever else the text holds.
enum PEM {
    /// The largest PEM text read (a certificate with an 8192-bit RSA key and many extensions is far below).
    static let maximumBytes = 1 << 16

    /// One block: its label and its decoded bytes.
    struct Block: Equatable {
        let label: String
        let der: [UInt8]
    }

    /// Every block of `text`, in order.
    ///
    /// - Throws: ``KeyboundError/Code/privateKeyGiven`` when a block is a private key;
    ///   ``KeyboundError/Code/invalidKeyEncoding`` for text that is too large, has no block, or has a malformed one.
    static func blocks(_ text: [UInt8]) throws(KeyboundError) -> [Block] {
        let code = KeyboundError.Code.invalidKeyEncoding
        guard text.count <= maximumBytes else { throw .make(code, "PEM text is larger than 64 KiB") }
        let lines = splitLines(text)
        // Labels first, so a private key is refused before anything else about the text is reported.
        for line in lines {
            if let label = boundaryLabel(line, "BEGIN"), label.contains("PRIVATE KEY") {
                throw .make(.privateKeyGiven, "PEM block \(label) is a private key: give the public key or certificate")
            }
        }
        var blocks: [Block] = []
        var index = 0
        while index < lines.count {
            guard let label = boundaryLabel(lines[index], "BEGIN") else {
                if boundaryLabel(lines[index], "END") != nil { throw .make(code, "PEM END line without BEGIN") }
                index += 1  // explanatory text (RFC 7468 §2)
                continue
            }
            var body: [UInt8] = []
            index += 1
            var closed = false
            while index < lines.count {
                let line = lines[index]
                index += 1
                if let end = boundaryLabel(line, "END") {
                    guard end == label else { throw .make(code, "PEM END label differs from BEGIN \(label)") }
                    closed = true
                    break
                }
                if boundaryLabel(line, "BEGIN") != nil { throw .make(code, "PEM block \(label) is not closed") }
                body.append(contentsOf: trimmed(line))
            }
            guard closed else { throw .make(code, "PEM block \(label) is not closed") }
            guard let der = decodeBase64(body), !der.isEmpty else {
                throw .make(code, "PEM block \(label) is not canonical base64")
            }
            blocks.append(Block(label: label, der: der))
        }
        guard !blocks.isEmpty else { throw .make(code, "no PEM block (-----BEGIN ...-----) in the text") }
        return blocks
    }

    /// The lines of `text`, split at LF (a CR before it stays, and is trimmed where whitespace is allowed).
    private static func splitLines(_ text: [UInt8]) -> [ArraySlice<UInt8>] {
        text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    }

    /// The line without trailing spaces, tabs and CR (RFC 7468 §3 allows whitespace at line ends).
    private static func trimmed(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var end = line.endIndex
        while end > line.startIndex, [0x20, 0x09, 0x0D].contains(line[end - 1]) { end -= 1 }
        return line[line.startIndex..<end]
    }

    /// The label of a `-----BEGIN LABEL-----` (or END) line, or `nil` when the line is not one. A label is printable
    /// ASCII without `-` at its ends (RFC 7468 §3).
    private static func boundaryLabel(_ line: ArraySlice<UInt8>, _ kind: String) -> String? {
        let line = trimmed(line)
        let prefix = Array("-----\(kind) ".utf8)
        let suffix = Array("-----".utf8)
        guard line.count >= prefix.count + suffix.count, line.starts(with: prefix), line.suffix(5).elementsEqual(suffix)
        else { return nil }
        let label = line.dropFirst(prefix.count).dropLast(suffix.count)
        guard label.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E }), label.first != UInt8(ascii: "-"),
            label.last != UInt8(ascii: "-")
        else { return nil }
        return String(decoding: label, as: UTF8.self)
    }

    /// Decodes standard padded base64 (RFC 4648 §4) through the strict base64url decoder: the text must be a
    /// multiple of 4 characters with at most two `=` at its end, and the unused bits zero.
    private static func decodeBase64(_ text: [UInt8]) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        var padding = 0
        while padding < 2, padding < text.count, text[text.count - 1 - padding] == UInt8(ascii: "=") { padding += 1 }
        var mapped: [UInt8] = []
        mapped.reserveCapacity(text.count)
        for c in text.dropLast(padding) {
            switch c {
            case UInt8(ascii: "+"): mapped.append(UInt8(ascii: "-"))
            case UInt8(ascii: "/"): mapped.append(UInt8(ascii: "_"))
            case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "="): return nil
            default: mapped.append(c)
            }
        }
        // 4k characters with p '=' carry 4k - p base64url characters, which must decode to 3k - p bytes.
        guard padding == 0 || mapped.count % 4 == 4 - padding else { return nil }
        return try? ByteView.with(mapped) { (view) throws(KeyboundError) -> [UInt8] in
            try Base64URL.decodeToArray(view, failingWith: .invalidKeyEncoding)
        }
    }
}
