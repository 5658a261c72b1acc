//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// The demo's command line.
struct DemoOptions {
    var host = "127.0.0.1"
    var port = 8080
    var nonces = false
    var tokenLifetime: Int64 = 600
    /// RFC 9470 `max_age` of "delete account": the login must be at most this many seconds old.
    var stepUpMaxAge: Int64 = 300
    /// The verifier's clock skew, `nil` for its default (a test shortens it with `max_age`).
    var clockSkew: Int64? = nil
    var explicitBaseURL: String? = nil
    var help = false

    /// The public origin the browser uses: the issuer, the audience and the base of every `htu`.
    var baseURL: String { explicitBaseURL ?? "http://\(host):\(port)" }

    static let usage = """
        usage: keybound-demo [--port N] [--host ADDRESS] [--nonces] [--base-url URL] [--token-lifetime SECONDS]
                             [--step-up-max-age SECONDS] [--clock-skew SECONDS]

          --port N             TCP port to listen on (default 8080)
          --host ADDRESS       address to bind (default 127.0.0.1)
          --nonces             require server nonces in every proof (RFC 9449 §8)
          --base-url URL       the public origin, when it differs from http://HOST:PORT (e.g. behind a proxy)
          --token-lifetime S   access token lifetime in seconds (default 600)
          --step-up-max-age S  "delete account" needs a login at most S seconds old (RFC 9470 max_age; default 300)
          --clock-skew S       the verifier's clock skew in seconds (default: the verifier's)
        """

    struct UsageError: Error {
        var message: String
    }

    static func parse(_ arguments: [String]) throws(UsageError) -> DemoOptions {
        var options = DemoOptions()
        var rest = arguments[...]
        func value(for flag: String) throws(UsageError) -> String {
            guard let next = rest.popFirst() else { throw UsageError(message: "\(flag) needs a value") }
            return next
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--port":
                guard let port = Int(try value(for: argument)), (0...65_535).contains(port) else {
                    throw UsageError(message: "--port takes a number 0...65535")
                }
                options.port = port
            case "--host": options.host = try value(for: argument)
            case "--nonces": options.nonces = true
            case "--base-url": options.explicitBaseURL = try value(for: argument)
            case "--token-lifetime":
                guard let seconds = Int64(try value(for: argument)), (10...86_400).contains(seconds) else {
                    throw UsageError(message: "--token-lifetime takes 10...86400 seconds")
                }
                options.tokenLifetime = seconds
            case "--step-up-max-age":
                guard let seconds = Int64(try value(for: argument)), (0...86_400).contains(seconds) else {
                    throw UsageError(message: "--step-up-max-age takes 0...86400 seconds")
                }
                options.stepUpMaxAge = seconds
            case "--clock-skew":
                guard let seconds = Int64(try value(for: argument)), (0...3_600).contains(seconds) else {
                    throw UsageError(message: "--clock-skew takes 0...3600 seconds")
                }
                options.clockSkew = seconds
            case "-h", "--help": options.help = true
            default: throw UsageError(message: "unknown argument \(argument)")
            }
        }
        return options
    }
}
