import Logging
import Testing

@testable import BrenderKit

@Suite struct JournalLogHandlerTests {
    @Test func eachLineStartsWithItsSyslogPriorityAndHasNoTimestamp() {
        let captured = CapturedText()
        var logger = Logger(label: "brender.server") { JournalLogHandler(label: $0, sink: captured) }
        logger.logLevel = .debug
        logger.warning("disk low", metadata: ["free": "12"])
        logger.info("two\nlines")
        logger.debug("detail")
        #expect(captured.text == "<4>brender.server: disk low free=12\n<6>brender.server: two lines\n<7>brender.server: detail\n")
    }

    @Test func theJournalIsUsedOnlyWhenStandardErrorIsTheStreamSystemdNamed() {
        #expect(!JournalLogHandler.writesToJournal(environment: [:]))
        // Inherited from a parent whose standard error was the journal, but this one's is not.
        #expect(!JournalLogHandler.writesToJournal(environment: ["JOURNAL_STREAM": "8:1"]))
    }
}
