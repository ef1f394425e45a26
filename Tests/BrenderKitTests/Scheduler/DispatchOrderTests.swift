import BrenderTesting
import Testing

@testable import BrenderKit
@testable import FarmCore

@Suite struct DispatchOrderTests {
    @Test func higherPriorityThenOlderThenLowerID() {
        var order = DispatchOrder()
        order.insert(.init(priority: 50, createdAt: 10, jobID: 1))
        order.insert(.init(priority: 90, createdAt: 30, jobID: 3))
        order.insert(.init(priority: 50, createdAt: 5, jobID: 4))
        order.insert(.init(priority: 50, createdAt: 10, jobID: 2))
        order.insert(.init(priority: 0, createdAt: 1, jobID: 5))
        #expect(order.jobIDs == [3, 4, 1, 2, 5])
    }

    @Test func insertIsIdempotentAndRemoveFindsTheKey() {
        var order = DispatchOrder()
        let key = DispatchOrder.Key(priority: 50, createdAt: 1, jobID: 1)
        order.insert(key)
        order.insert(key)
        #expect(order.count == 1)
        order.remove(.init(priority: 40, createdAt: 1, jobID: 1))
        #expect(order.count == 1)
        order.remove(key)
        #expect(order.isEmpty)
    }

    @Test(arguments: 0..<20) func staysSortedUnderRandomChanges(seed: Int) {
        var random = SeededGenerator(seed: UInt64(seed))
        var order = DispatchOrder()
        var keys: [DispatchOrder.Key] = []
        for id in 0..<200 {
            let key = DispatchOrder.Key(priority: Int(random.next() % 5) * 25, createdAt: Double(random.next() % 50), jobID: Int64(id))
            keys.append(key)
            order.insert(key)
            if random.next() % 3 == 0, let victim = keys.randomElement(using: &random) {
                order.remove(victim)
                keys.removeAll { $0 == victim }
            }
        }
        #expect(order.keys == keys.sorted())
    }
}
