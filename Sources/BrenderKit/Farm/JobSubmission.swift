import Foundation

/// The `values` of a `job create` request, checked field by field.
struct JobSubmission {
    var kind: Job.Kind
    var name: String?
    var file: String
    var frames: FrameSpec
    var framesText: String
    var chunkSize: Int
    var priority: Int
    var output: String?
    var format: String
    var scene: String?
    var argv: [String]
    var tags: [String]
    var maxAttempts: Int

    static let fields = ["type", "name", "file", "frames", "chunk", "priority", "output", "format", "scene", "argv", "tags", "max_attempts"]

    init(values: [String: JSONValue]) throws(APIError) {
        for key in values.keys.sorted() where !JobSubmission.fields.contains(key) {
            throw APIError(
                .unknownField, "'\(key)' is not a field of a new job; fields: \(JobSubmission.fields.joined(separator: ", "))", field: "values.\(key)"
            )
        }
        let schema = Job.schema
        func checked(_ key: String) throws(APIError) -> JSONValue? {
            guard let raw = values[key], raw != .null else { return nil }
            return try schema.value(raw, for: schema.field(key)!, path: "values.\(key)")
        }
        kind = try checked("type").flatMap { $0.stringValue.flatMap(Job.Kind.init(rawValue:)) } ?? .blender
        name = try checked("name")?.stringValue
        if let name, name.trimmingCharacters(in: .whitespaces).isEmpty {
            throw APIError(.invalidValue, "a job name must not be blank", field: "values.name")
        }
        chunkSize = Int(try checked("chunk")?.intValue ?? 1)
        priority = Int(try checked("priority")?.intValue ?? 50)
        maxAttempts = Int(try checked("max_attempts")?.intValue ?? 3)
        format = try checked("format")?.stringValue ?? "PNG"
        scene = try checked("scene")?.stringValue
        output = try checked("output")?.stringValue
        tags = try checked("tags")?.arrayValue?.compactMap(\.stringValue) ?? []

        guard let spec = values["frames"]?.stringValue else {
            throw APIError(.missingField, "a job needs 'frames', e.g. \"1-250\"", field: "values.frames")
        }
        do {
            frames = try FrameSpec(parsing: spec)
        } catch {
            throw APIError(.invalidValue, error.message, field: "values.frames")
        }
        framesText = spec

        switch kind {
        case .blender:
            guard let file = values["file"]?.stringValue, !file.isEmpty else {
                throw APIError(.missingField, "a blender job needs 'file', the path of a .blend file", field: "values.file")
            }
            guard file.hasPrefix("/") else {
                throw APIError(.invalidValue, "'file' must be an absolute path that every worker can read, not '\(file)'", field: "values.file")
            }
            self.file = file
            if values["argv"] != nil {
                throw APIError(.invalidValue, "'argv' belongs to command jobs; a blender job renders 'file'", field: "values.argv")
            }
            argv = []
            if let output, !output.hasPrefix("/") {
                throw APIError(.invalidValue, "'output' must be an absolute path pattern, not '\(output)'", field: "values.output")
            }
        case .command:
            guard let list = values["argv"]?.arrayValue, !list.isEmpty else {
                throw APIError(.missingField, "a command job needs 'argv', a non-empty array of strings", field: "values.argv")
            }
            var argv: [String] = []
            for element in list {
                guard let text = element.stringValue else {
                    throw APIError(.invalidValue, "'argv' must hold only strings, not \(element.typeName)", field: "values.argv")
                }
                argv.append(text)
            }
            self.argv = argv
            file = ""
        }
    }
}
