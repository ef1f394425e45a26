import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /events`: the farm's changes as Server-Sent Events.
///
/// Each event is `id: N`, `event: TYPE` (job, task, client, log, job_deleted, client_deleted)
/// and `data:` one JSON object. A reader that reconnects sends the last id it saw
/// (`Last-Event-ID`, or `?since=N`) and gets every event after it first; `event: reset` means
/// events were lost (too old, or the server restarted) and the state should be read again.
/// `?job=ID[,ID...]` keeps a job's events only. A comment line every 15 s keeps proxies from
/// closing a quiet stream.
struct EventStream: Sendable {
    let hub: EventHub
    static let keepAliveInterval: Duration = .seconds(15)

    /// What a request asks for: the filter, and where to resume.
    struct Query: Equatable {
        var jobs: Set<Int64>?
        var since: Int64?

        init(jobs: Set<Int64>? = nil, since: Int64? = nil) {
            self.jobs = jobs
            self.since = since
        }

        /// Reads `job`, `since` and the `Last-Event-ID` header (which wins: it is what a
        /// reconnecting reader sends).
        init(jobParameters: [String], since: String?, lastEventID: String?) throws(APIError) {
            var jobs: Set<Int64> = []
            for text in jobParameters.flatMap({ $0.split(separator: ",") }) {
                guard let id = Int64(text.trimmingCharacters(in: .whitespaces)), id > 0 else {
                    throw APIError(.invalidValue, "job must be job ids separated by commas, not '\(text.prefix(64))'", field: "job")
                }
                jobs.insert(id)
            }
            self.jobs = jobParameters.isEmpty ? nil : jobs
            let resume = lastEventID ?? since
            if let resume {
                guard let id = Int64(resume.trimmingCharacters(in: .whitespaces)) else {
                    throw APIError(
                        .invalidValue, "the last event id must be a number, not '\(resume.prefix(64))'",
                        field: lastEventID != nil ? "Last-Event-ID" : "since")
                }
                self.since = id
            }
        }
    }

    func response(_ query: Query) -> Response {
        let deliveries = hub.subscribe(after: query.since, filter: EventHub.Filter(jobs: query.jobs))
        var headers: HTTPFields = [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store"]
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"  // nginx: pass events on as they come
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                let (lines, output) = AsyncStream<String>.makeStream()
                let forward = Task {
                    for await delivery in deliveries { output.yield(Self.format(delivery)) }
                    output.finish()
                }
                let keepAlive = Task {
                    while !Task.isCancelled {
                        try await Task.sleep(for: Self.keepAliveInterval)
                        output.yield(": keep-alive\n\n")
                    }
                }
                defer {
                    forward.cancel()
                    keepAlive.cancel()
                }
                try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
                for await text in lines { try await writer.write(ByteBuffer(string: text)) }
                try await writer.finish(nil)
            })
    }

    /// One delivery in the text/event-stream format.
    static func format(_ delivery: EventHub.Delivery) -> String {
        switch delivery {
        case .event(let event):
            "id: \(event.id)\nevent: \(event.type)\ndata: \(event.json.serialized())\n\n"
        case .reset(let oldest):
            "event: reset\ndata: \(JSONValue.object(["oldest": oldest.map(JSONValue.int) ?? .null]).serialized())\n\n"
        }
    }
}
