//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import CKeybound
import Keybound

/// The C statuses (docs/design.md "Errors"). There is one status table, ``KeyboundError/Code``: every verification row and
/// the configuration rows (902, 903) are read from it. Only KB_OK and the API-misuse rows 900 and 901 are the C ABI's
/// own, and 950 is the CLI batch reader's (``InvalidInputLineStatus``), described here so a C host can name it.
enum Status {
    static let ok: Int32 = 0
    static let invalidArgument: Int32 = 900
    static let bufferTooSmall: Int32 = 901
    static let invalidConfig = Int32(KeyboundError.Code.invalidConfiguration.rawValue)
    static let invalidJWKS = Int32(KeyboundError.Code.invalidJWKS.rawValue)

    /// The status of a Swift error: its pinned code, which is the same number by construction.
    static func of(_ error: KeyboundError) -> Int32 {
        Int32(truncatingIfNeeded: error.code.rawValue)
    }

    /// One row of the C status table. Its texts are NUL-terminated copies made once, when the table is first used,
    /// and never freed, so the C side may keep the pointers forever.
    struct Entry: Sendable {
        let code: Int32
        let name: CText
        /// `nil` when the RFCs give no error.
        let rfcError: CText?
        let httpStatus: Int32
        /// The HTTP status in token-endpoint mode (RFC 9449 §5).
        let tokenEndpointHTTPStatus: Int32
        let summary: CText

        init(
            code: Int32, name: String, rfcError: String?, httpStatus: Int, tokenEndpointHTTPStatus: Int,
            summary: String
        ) {
            self.code = code
            self.name = CText(name)
            self.rfcError = rfcError.map(CText.init)
            self.httpStatus = Int32(httpStatus)
            self.tokenEndpointHTTPStatus = Int32(tokenEndpointHTTPStatus)
            self.summary = CText(summary)
        }

        init(_ code: KeyboundError.Code) {
            self.init(
                code: Int32(code.rawValue), name: code.name, rfcError: code.rfcError, httpStatus: code.httpStatus,
                tokenEndpointHTTPStatus: code.tokenEndpointHTTPStatus, summary: code.summary)
        }
    }

    /// Every status, in numeric order: the C ABI's own rows, every ``KeyboundError/Code``, and the CLI's 950.
    static let table: [Entry] = {
        var rows = [
            Entry(
                code: ok, name: "ok", rfcError: nil, httpStatus: 200, tokenEndpointHTTPStatus: 200,
                summary: "verified"),
            Entry(
                code: invalidArgument, name: "invalid_argument", rfcError: nil, httpStatus: 500,
                tokenEndpointHTTPStatus: 500, summary: "an argument is NULL, out of range or unknown"),
            Entry(
                code: bufferTooSmall, name: "buffer_too_small", rfcError: nil, httpStatus: 500,
                tokenEndpointHTTPStatus: 500, summary: "the output buffer is too small"),
            Entry(
                code: Int32(InvalidInputLineStatus.code), name: InvalidInputLineStatus.name,
                rfcError: InvalidInputLineStatus.rfcError, httpStatus: InvalidInputLineStatus.httpStatus,
                tokenEndpointHTTPStatus: InvalidInputLineStatus.httpStatus, summary: InvalidInputLineStatus.summary),
        ]
        rows += KeyboundError.Code.allCodes.map(Entry.init)
        return rows.sorted { $0.code < $1.code }
    }()

    static func entry(_ code: Int32) -> Entry? {
        // About 50 rows in numeric order: a binary search.
        var low = 0
        var high = table.count
        while low < high {
            let middle = (low + high) / 2
            if table[middle].code < code { low = middle + 1 } else { high = middle }
        }
        return low < table.count && table[low].code == code ? table[low] : nil
    }

    /// True for the verification statuses (1xx–5xx), which a verifier counts.
    static func isVerificationStatus(_ code: Int32) -> Bool {
        code >= 100 && code < 900 && entry(code) != nil
    }
}

/// A NUL-terminated copy of a string, made once and never freed: static text for the C side.
/// - Note: `@unchecked Sendable` because the bytes are never written or freed after the copy.
@safe
struct CText: @unsafe @unchecked Sendable {
    let pointer: UnsafePointer<CChar>
    /// The length in bytes, without the NUL.
    let count: Int

    init(_ string: String) {
        let utf8 = Array(string.utf8)
        let storage = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count + 1)
        for (index, byte) in utf8.enumerated() { unsafe storage[index] = CChar(bitPattern: byte) }
        unsafe storage[utf8.count] = 0
        unsafe pointer = UnsafePointer(storage)
        count = utf8.count
    }

    /// The bytes without the NUL.
    var bytes: UnsafeRawBufferPointer { unsafe UnsafeRawBufferPointer(start: pointer, count: count) }
}

/// The library's version, ``KeyboundVersion/string`` as static C text.
let versionText = CText(KeyboundVersion.string)

extension StaticString {
    /// The literal as a C string. Swift emits string literals NUL-terminated in read-only data, so the pointer is
    /// valid for the life of the process.
    var cString: UnsafePointer<CChar> {
        unsafe UnsafeRawPointer(utf8Start).assumingMemoryBound(to: CChar.self)
    }
}

// MARK: - Exports

@c @implementation
public func kb_status_string(_ status: kb_status) -> UnsafePointer<CChar> {
    unsafe (Status.entry(status)?.summary.pointer ?? ("unknown status" as StaticString).cString)
}

@c @implementation
public func kb_status_name(_ status: kb_status) -> UnsafePointer<CChar> {
    unsafe (Status.entry(status)?.name.pointer ?? ("unknown" as StaticString).cString)
}

@c @implementation
public func kb_status_rfc_error(_ status: kb_status) -> UnsafePointer<CChar>? {
    unsafe Status.entry(status)?.rfcError?.pointer
}

@c @implementation
public func kb_status_http_status(_ status: kb_status) -> Int32 {
    Status.entry(status)?.httpStatus ?? 0
}

@c @implementation
public func kb_version_number() -> UInt32 {
    UInt32(truncatingIfNeeded: KeyboundVersion.number)
}

@c @implementation
public func kb_version_string() -> UnsafePointer<CChar> {
    unsafe versionText.pointer
}
