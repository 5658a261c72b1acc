// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the CLI's batch reader (`keybound verify --batch`, Sources/KeyboundBatch): the line splitter
// and the line → request decoding.
//
// Input: byte 0 chooses the line limit (0: the tool's 64 KiB; otherwise 1...255 bytes, so overlong lines are
// reachable within -max_len), byte 1 the read chunk size (0: the whole stream at once; otherwise 1...255 bytes);
// the rest is the batch stream. Checked on every input, beyond "no crash, no leak":
//   - the lines do not depend on where the chunks are cut (same lines as one whole-stream chunk);
//   - they agree with a reference model (cut on LF, drop one final CR, too long past the limit, skip blank);
//   - a line that decodes to a request is written back as JSON, decodes again, and gives the same request.
import FuzzSupport
@_spi(Batch) import KeyboundBatch
import Keybound

func fail(_ message: String) -> Never {
    fatalError("fuzz-batch-line invariant: \(message)")
}

func split(_ stream: [UInt8], limit: Int, chunk: Int) -> [BatchInputLine] {
    BatchLineSplitter.lines(of: stream, limit: limit, chunkSize: chunk)
}

func written(_ line: BatchLine) -> [UInt8] {
    Array(line.jsonText.utf8)
}

func same(_ a: BatchLine, _ b: BatchLine) -> Bool {
    a.request.method == b.request.method && a.request.url == b.request.url
        && a.request.authorization == b.request.authorization && a.request.dpop == b.request.dpop && a.jkt == b.jkt
}

runFuzzer { data, size in
    let bytes = fuzzInput(data, size)
    guard bytes.count >= 2 else { return 0 }
    let limit = bytes[0] == 0 ? LineReader.defaultLimit : Int(bytes[0])
    let stream = Array(bytes[2...])
    let chunk = bytes[1] == 0 ? stream.count + 1 : Int(bytes[1])
    let lines = split(stream, limit: limit, chunk: chunk)
    if lines != split(stream, limit: limit, chunk: stream.count + 1) { fail("lines depend on the chunk size") }
    if lines != BatchLineSplitter.referenceLines(of: stream, limit: limit) {
        fail("lines differ from the reference model")
    }
    for case .text(let line) in lines {
        switch BatchLine.parse(line) {
        case .success(let parsed):
            guard case .success(let again) = BatchLine.parse(written(parsed)), same(parsed, again) else {
                fail("a decoded request does not survive being written back")
            }
        case .failure(let error):
            if error.message.isEmpty { fail("a refusal without a reason") }
        }
    }
    return 0
}
