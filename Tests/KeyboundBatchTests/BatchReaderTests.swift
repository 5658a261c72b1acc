//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Testing

@_spi(Batch) @testable import KeyboundBatch

/// The batch reader of `keybound verify --batch` (JSON Lines, RFC 8259 per line), as the fuzz target
/// `Fuzz/Targets/batch-line` drives it.
@Suite("Batch reader")
struct BatchReaderTests {
    static func split(_ stream: [UInt8], limit: Int, chunk: Int) -> [BatchInputLine] {
        BatchLineSplitter.lines(of: stream, limit: limit, chunkSize: chunk)
    }

    @Test("the splitter agrees with the reference model for every chunk size, around the limit")
    func splitterMatchesModel() {
        // Deterministic streams made of short pieces: limit ± 1 lines, CRLF, lone CR, blanks, a last line without LF.
        let pieces: [[UInt8]] = [
            Array("{}".utf8), Array("abcd".utf8), Array("abcde".utf8), Array("abc\r".utf8), Array("abcd\r".utf8),
            Array("abcde\r".utf8), Array(" \t ".utf8), [], Array("\r".utf8), Array("\r\r".utf8), Array("x\ry".utf8),
        ]
        var state: UInt64 = 0x1234_5678
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        for _ in 0..<400 {
            var stream: [UInt8] = []
            for _ in 0..<(next() % 8) {
                stream += pieces[next() % pieces.count]
                if next() % 5 != 0 { stream.append(0x0A) }
            }
            for limit in [0, 3, 4, 5] {
                let expected = BatchLineSplitter.referenceLines(of: stream, limit: limit)
                for chunk in 1...(stream.count + 1) {
                    #expect(Self.split(stream, limit: limit, chunk: chunk) == expected)
                }
            }
        }
    }

    @Test("the file-descriptor reader delivers what the splitter does (64 KiB limit, one line past it)")
    func readerFromPipe() throws {
        let long = [UInt8](repeating: 0x61, count: LineReader.defaultLimit + 1)
        let exact = [UInt8](repeating: 0x62, count: LineReader.defaultLimit)
        let stream = Array("{\"a\":1}\r\n\n  \n".utf8) + long + [0x0A] + exact + [0x0D, 0x0A] + Array("last".utf8)
        let pipe = Pipe()
        let writer = Thread {
            pipe.fileHandleForWriting.write(Data(stream))
            try? pipe.fileHandleForWriting.close()
        }
        writer.start()
        var lines: [BatchInputLine] = []
        try LineReader(fd: pipe.fileHandleForReading.fileDescriptor).forEachLine { lines.append($0) }
        #expect(lines == [.text(Array("{\"a\":1}".utf8)), .tooLong, .text(exact), .text(Array("last".utf8))])
    }

    @Test("a decoded line written back as JSON (jsonText) decodes to the same request")
    func jsonTextRoundTrip() throws {
        let line = #"{"method":"GET","url":"https://a.example/p?q=\"1\"","authorization":"DPoP t\\u","dpop":"x\u0001y","jkt":"k"}"#
        guard case .success(let parsed) = BatchLine.parse(Array(line.utf8)) else {
            Issue.record("the line did not parse")
            return
        }
        #expect(parsed.jsonText == #"{"method":"GET","url":"https://a.example/p?q=\"1\"","authorization":"DPoP t\\u","dpop":["x\u0001y"],"jkt":"k"}"#)
        guard case .success(let again) = BatchLine.parse(Array(parsed.jsonText.utf8)) else {
            Issue.record("jsonText did not parse")
            return
        }
        #expect(again.request.url == parsed.request.url && again.request.dpop == ["x\u{01}y"] && again.jkt == "k")
        #expect(again.request.authorization == #"DPoP t\u"#)
    }

    @Test("a reading failure is a BatchError, not a trap")
    func readFailure() {
        #expect(throws: BatchError.self) { try LineReader(fd: -1).forEachLine { _ in } }
    }

    @Test("line to request: members, types and the exact reasons")
    func parse() throws {
        func parsed(_ text: String) -> Result<BatchLine, BatchError> { BatchLine.parse(Array(text.utf8)) }
        let ok = try parsed(#"{"method":"GET","url":"https://a/x","authorization":"DPoP t","dpop":["p","q"],"jkt":"k","z":[1]}"#).get()
        #expect(ok.request.method == "GET" && ok.request.url == "https://a/x")
        #expect(ok.request.authorization == "DPoP t" && ok.request.dpop == ["p", "q"] && ok.jkt == "k")
        let bare = try parsed(#"{"method":"GET","url":"u","dpop":""}"#).get()
        #expect(bare.request.authorization == nil && bare.request.dpop == [""] && bare.jkt == nil)
        let cases: [(String, String)] = [
            ("[1]", "line is not valid JSON"),
            (#"{"method":1,"url":"u"}"#, "method is missing or not a string"),
            (#"{"method":"GET"}"#, "url is missing or not a string"),
            (#"{"method":"GET","url":"u","authorization":1}"#, "authorization is not a string or null"),
            (#"{"method":"GET","url":"u","dpop":[1]}"#, "dpop is not a string, an array of strings or null"),
            (#"{"method":"GET","url":"u","dpop":{}}"#, "dpop is not a string, an array of strings or null"),
            (#"{"method":"GET","url":"u","jkt":false}"#, "jkt is not a string or null"),
            (#"{"method":"GET","method":"GET","url":"u"}"#, "line is not valid JSON"),
            (String(repeating: "[", count: 100_000), "line is not valid JSON"),
        ]
        for (text, reason) in cases {
            guard case .failure(let error) = parsed(text) else {
                Issue.record("accepted: \(text.prefix(60))")
                continue
            }
            #expect(error.message.hasPrefix(reason), "\(text.prefix(60)): \(error.message)")
        }
    }
}
