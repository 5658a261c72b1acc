//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Testing

import Keybound
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

    @Test("line to request: escapes, Unicode, null and unknown members read as the tree reader reads them")
    func parseEscapes() throws {
        func parsed(_ text: String) -> Result<BatchLine, BatchError> { BatchLine.parse(Array(text.utf8)) }
        let escaped = try parsed(
            #"{"\u006dethod":"G\u0045T","url":"https:\/\/a\/caf\u00e9?q=\ud83d\ude00","authorization":null,"#
                + #""dpop":["p\"1\\",""],"jkt":null,"x":{"y":[true,null,1.5e3]}}"#
        ).get()
        #expect(escaped.request.method == "GET")
        #expect(escaped.request.url == "https://a/caf\u{e9}?q=\u{1F600}")
        #expect(escaped.request.authorization == nil && escaped.jkt == nil)
        #expect(escaped.request.dpop == ["p\"1\\", ""])
        let raw = try parsed("{\"method\":\"POST\",\"url\":\"https://a/\u{e9}\u{1F600}\",\"dpop\":null}").get()
        #expect(raw.request.url == "https://a/\u{e9}\u{1F600}" && raw.request.dpop.isEmpty)
        let empty = try parsed(#"{"method":"GET","url":"u","dpop":[]}"#).get()
        #expect(empty.request.dpop.isEmpty)
    }

    @Test("line to request: a line that is not JSON gets the strict reader's own reason")
    func parseInvalidReasons() throws {
        let lines = [
            #"{"method":"GET","url":"u","url":"v"}"#, #"{"method":"GET","\u0075rl":"u","url":"v"}"#,
            #"{"method":"GET","url":"u",}"#, #"{"method":"GET","url":"\ud800"}"#, #"{"method":"GET","url":"a\u0000"}"#,
            "{\"method\":\"GET\",\"url\":\"\u{1}\"}", #"{"method":"GET"} x"#, "", "  ", "null", #""s""#,
        ].map { Array($0.utf8) } + [Array(#"{"method":""#.utf8) + [0xFF, 0x22, 0x7D]]
        for bytes in lines {
            let line = String(decoding: bytes, as: UTF8.self)
            let expected: String
            do {
                _ = try JSONTree.parseObject(bytes, failingWith: .invalidConfiguration)
                Issue.record("the tree reader accepted \(line)")
                continue
            } catch {
                expected = "line is not valid JSON: \(error.reason)"
            }
            guard case .failure(let error) = BatchLine.parse(bytes) else {
                Issue.record("accepted: \(line)")
                continue
            }
            #expect(error.message == expected, "\(line)")
        }
    }

    @Test("borrowed request: the DPoP count and first proof, and the line's own bytes when nothing is escaped")
    func borrowedRequest() {
        let cases: [(String, Int, String?)] = [
            (#"{"method":"GET","url":"u"}"#, 0, nil), (#"{"method":"GET","url":"u","dpop":null}"#, 0, nil),
            (#"{"method":"GET","url":"u","dpop":[]}"#, 0, nil), (#"{"method":"GET","url":"u","dpop":""}"#, 1, ""),
            (#"{"method":"GET","url":"u","dpop":["a","b","c"]}"#, 3, "a"),
            (#"{"method":"GET","url":"u","dpop":["\u0061b"]}"#, 1, "ab"),
        ]
        for (line, count, first) in cases {
            let bytes = Array(line.utf8)
            bytes.withUnsafeBytes { raw in
                var calls = 0
                BatchRequestBytes.read(raw) { parsed in
                    calls += 1
                    guard case .success(let request) = parsed else {
                        Issue.record("refused: \(line)")
                        return
                    }
                    #expect(request.dpopCount == count, "\(line)")
                    #expect(request.firstProof.map { String(decoding: $0, as: UTF8.self) } == first, "\(line)")
                    // Unescaped members are borrowed from the line itself.
                    #expect(request.method.baseAddress.map { raw.baseAddress!.distance(to: $0) } == 11)
                }
                #expect(calls == 1)
            }
        }
    }

    @Test("borrowed splitting: the lines of every chunk size, and one call after each read")
    func borrowedReader() throws {
        let stream = Array("{\"a\":1}\r\n\n  \t\n\(String(repeating: "b", count: 12))\nlast".utf8)
        for chunk in [1, 2, 3, 7, stream.count + 1] {
            var splitter = BatchLineSplitter(limit: 8)
            var lines: [BatchInputLine] = []
            var start = 0
            while start < stream.count {
                let end = min(stream.count, start + chunk)
                stream[start..<end].withUnsafeBytes { bytes in
                    splitter.feed(borrowing: bytes) { line in
                        switch line {
                        case .text(let text): lines.append(.text(Array(text)))
                        case .tooLong: lines.append(.tooLong)
                        }
                    }
                }
                start = end
            }
            splitter.finish(borrowing: { line in
                if case .text(let text) = line { lines.append(.text(Array(text))) } else { lines.append(.tooLong) }
            })
            #expect(lines == BatchLineSplitter.referenceLines(of: stream, limit: 8), "chunk \(chunk)")
        }
        let pipe = Pipe()
        pipe.fileHandleForWriting.write(Data("{\"a\":1}\n{\"b\":2}\n".utf8))
        try pipe.fileHandleForWriting.close()
        var lines = 0
        var chunks = 0
        try LineReader(fd: pipe.fileHandleForReading.fileDescriptor).forEachLine(borrowing: { _ in lines += 1 },
                                                                                  afterChunk: { chunks += 1 })
        #expect(lines == 2 && chunks == 1)
    }

    @Test("JSON quoting: quotes, backslashes and control characters escaped, everything else as is")
    func quoting() {
        #expect(JSONTree.quoted("a\"b\\c") == #""a\"b\\c""#)
        #expect(JSONTree.quoted("\u{8}\u{C}\n\r\t\u{0}\u{1F}\u{7F}") == #""\b\f\n\r\t\u0000\u001f"# + "\u{7F}\"")
        #expect(JSONTree.quoted("caf\u{e9} \u{1F600}/") == "\"caf\u{e9} \u{1F600}/\"")
        #expect(JSONTree.quoted("") == #""""#)
        let text = Array("x\ny\u{1}".utf8)
        var out = [UInt8](repeating: 0, count: JSONTree.quotedCapacity(text.count))
        let written = text.withUnsafeBytes { bytes in
            out.withUnsafeMutableBufferPointer { JSONTree.writeQuoted(bytes, to: $0.baseAddress!) }
        }
        #expect(Array(out[0..<written]) == Array(#""x\ny\u0001""#.utf8))
    }
}
