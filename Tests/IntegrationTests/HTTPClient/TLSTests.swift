import BrenderKit
import BrenderTesting
import Foundation
import Testing

/// HTTPS end to end: a server with a certificate made here by a certificate authority made here,
/// a real worker and real commands that trust that authority with --ca, and a client that
/// refuses a certificate it was not told to trust.
@Suite struct TLSTests {
    /// A certificate authority and a server certificate it signed for 127.0.0.1 and localhost.
    struct Certificates {
        let authority: String
        let certificate: String
        let key: String
        /// Another authority, which did not sign the server's certificate.
        let stranger: String
    }

    static func makeCertificates(in directory: URL) throws -> Certificates {
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        func openssl(_ arguments: [String]) throws {
            let result = try ChildProcess.run("/usr/bin/openssl", arguments, logDirectory: directory, name: "openssl", timeout: 60)
            guard result.status == 0 else { throw TestFarmError.serverFailed("openssl \(arguments.first ?? ""): \(result.stderr)") }
        }
        for name in ["ca", "stranger"] {
            try openssl([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                "/CN=brender test \(name)",
                "-keyout", path("\(name).key"), "-out", path("\(name).pem"),
            ])
        }
        try openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=localhost", "-keyout", path("server.key"),
            "-out", path("server.csr"),
        ])
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: path("san.ext"), atomically: true, encoding: .utf8)
        try openssl([
            "x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"), "-CAcreateserial", "-days", "2",
            "-extfile", path("san.ext"), "-out", path("server.pem"),
        ])
        return Certificates(authority: path("ca.pem"), certificate: path("server.pem"), key: path("server.key"), stranger: path("stranger.pem"))
    }

    @Test func aWorkerAndCommandsWorkOverHTTPSTrustingTheFarmsAuthority() async throws {
        let farm = try TestFarm()
        let certificates = try Self.makeCertificates(in: farm.directory)
        try farm.startServer(["--tls-cert", certificates.certificate, "--tls-key", certificates.key])
        #expect(farm.serverURL.hasPrefix("https://"))
        let worker = try farm.startWorker(name: "secure", ["--ca", certificates.authority])
        let client = try BrenderClient(server: farm.serverURL, token: farm.adminToken, trust: certificates.authority)
        #expect(
            await eventually {
                try await client.send(APIRequest(item: "client", action: "read")).items.first?["connection"] == "online"
            })
        var environment = ["BRENDER_SERVER": farm.serverURL, "BRENDER_TOKEN": farm.adminToken!, "BRENDER_DATA": "/nonexistent"]
        environment["BRENDER_CA"] = certificates.authority
        let listed = try ChildProcess.run(
            farm.binary, ["client", "list"], environment: environment, logDirectory: farm.directory, name: "cli-https", timeout: 60)
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.contains("secure"))
        let submitted = try ChildProcess.run(
            farm.binary, ["job", "submit", "--type", "command", "--frames", "1-2", "--wait", "--", "/bin/true"], environment: environment,
            logDirectory: farm.directory, name: "cli-https-submit", timeout: 120)
        #expect(submitted.status == 0, "\(submitted.stdout)\(submitted.stderr)")
        #expect(submitted.stdout.contains("completed"))
        #expect(!worker.hasExited)
    }

    @Test func aCertificateNotTrustedIsRefusedSayingWhatToDo() async throws {
        let farm = try TestFarm()
        let certificates = try Self.makeCertificates(in: farm.directory)
        try farm.startServer(["--tls-cert", certificates.certificate, "--tls-key", certificates.key])
        let environment = ["BRENDER_SERVER": farm.serverURL, "BRENDER_TOKEN": farm.adminToken!, "BRENDER_DATA": "/nonexistent"]
        for ca in [nil, certificates.stranger] {
            let arguments = ["job", "list"] + (ca.map { ["--ca", $0] } ?? [])
            let refused = try ChildProcess.run(
                farm.binary, arguments, environment: environment, logDirectory: farm.directory, name: "cli-untrusted", timeout: 60)
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("TLS handshake failed") && refused.stderr.contains("--ca FILE"), "\(refused.stderr)")
        }
        // A worker that does not trust the server's certificate never registers.
        let worker = try farm.startWorker(name: "doubter", ["--ca", certificates.stranger])
        // Waited for, not slept on: a loaded machine starts the worker late.
        #expect(await eventually(timeout: 60) { worker.standardError.contains("TLS handshake failed") }, "\(worker.standardError)")
        #expect(
            try await BrenderClient(server: farm.serverURL, token: farm.adminToken, trust: certificates.authority)
                .send(APIRequest(item: "client", action: "read")).items.isEmpty)
        // Plain HTTP to an HTTPS server gets no answer it could mistake for brender's.
        let plain = try BrenderClient(server: "http://127.0.0.1:\(farm.port)", token: farm.adminToken)
        await #expect(throws: ClientError.self) { try await plain.send(APIRequest(item: "job", action: "read"), timeout: 5) }
    }

    @Test func aServerWithoutItsKeyOrWithABadCertificateSaysSoAndStops() throws {
        let farm = try TestFarm()
        let certificates = try Self.makeCertificates(in: farm.directory)
        let halfConfigured = try farm.run(["server", "--tls-cert", certificates.certificate, "--data", farm.dataDirectory.path])
        #expect(halfConfigured.status == 2)
        #expect(halfConfigured.stderr.contains("--tls-cert and --tls-key go together"))
        let wrongFile = try farm.run([
            "server", "--listen", "127.0.0.1:0", "--tls-cert", certificates.key, "--tls-key", certificates.key, "--data", farm.dataDirectory.path,
        ])
        #expect(wrongFile.status == 1)
        #expect(wrongFile.stderr.contains("certificate"), "\(wrongFile.stderr)")
    }
}
