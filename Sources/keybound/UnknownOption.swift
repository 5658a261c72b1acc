//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import ArgumentParser
import Foundation

/// ArgumentParser decodes a command (required options) and runs its `validate()` before it looks for options it does
/// not know, so `keybound verify --jwsk jwks.json …` used to report the missing `--jwks`. A misspelling is the likelier
/// cause, so on a usage error the command line is searched for an option its command does not declare first, against
/// the command tree ArgumentParser itself describes (`--experimental-dump-help`).
enum UnknownOption {
    /// `Unknown option '--jwsk'. Did you mean '--jwks'?`, or `nil` when every option on the command line is known.
    static func message(in arguments: [String]) -> String? {
        guard let data = Root._dumpHelp().data(using: .utf8),
            let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
            var command = root["command"] as? [String: Any]
        else { return nil }
        var index = 0
        var sawOption = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" { break }
            let subcommands = command["subcommands"] as? [[String: Any]] ?? []
            if !sawOption, let sub = subcommands.first(where: { $0["commandName"] as? String == argument }) {
                command = sub
                continue
            }
            guard argument.hasPrefix("-"), argument.count > 1, Double(argument) == nil else { continue }
            sawOption = true
            let name = String(argument.prefix { $0 != "=" })
            let declared = (command["arguments"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String != "positional" }
            guard let match = declared.first(where: { names(of: $0).contains(name) }) else {
                let suggestion = closest(to: name, among: declared.flatMap(names(of:)))
                return "Unknown option '\(name)'" + (suggestion.map { ". Did you mean '\($0)'?" } ?? "")
            }
            // An option's value is the next argument, unless given as --name=value.
            if match["kind"] as? String == "option", !argument.contains("=") { index += 1 }
        }
        return nil
    }

    /// `--jwks`, `-h`: the spellings of one declared argument.
    private static func names(of argument: [String: Any]) -> [String] {
        (argument["names"] as? [[String: Any]] ?? []).compactMap { name in
            guard let text = name["name"] as? String else { return nil }
            return (name["kind"] as? String == "long" ? "--" : "-") + text
        }
    }

    /// The declared long name at most two edits from `name`, if one is.
    private static func closest(to name: String, among names: [String]) -> String? {
        names.filter { $0.hasPrefix("--") }
            .map { ($0, distance(Array(name), Array($0))) }
            .filter { $0.1 <= 2 }
            .min { $0.1 < $1.1 }?.0
    }

    /// Levenshtein distance, with a transposition counted as one edit (`--jwsk` → `--jwks`).
    private static func distance(_ a: [Character], _ b: [Character]) -> Int {
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in stride(from: 1, through: a.count, by: 1) {
            for j in stride(from: 1, through: b.count, by: 1) {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
