#include <gtest/gtest.h>

#include "tests/views/view_test_support.hh"
#include "views/view_publisher.hh"
#include "views/view_subscriber.hh"

namespace roster::views {
namespace {

mono_time at(int ms) { return mono_time(std::chrono::milliseconds(ms)); }

struct fixture {
    std::vector<view_change> changes = testing::make_changes(40);
    std::vector<view> views = testing::make_views(changes);
    view_publisher publisher{8};
    view_subscriber sub{subscriber_config{2, 100ms, 1s}};
    std::vector<delivery> delivered;

    void publish_up_to(std::size_t n) { // views 1..n into the publisher
        while (publisher.current().id.value() < n) {
            publisher.publish(changes[publisher.current().id.value()]);
        }
    }
    // Answers the subscriber's pending request, if any, from the publisher (as endpoint `from`).
    bool serve(mono_time now, std::size_t from = 0) {
        auto q = sub.take_request();
        if (!q) {
            return false;
        }
        sub.on_sync_reply(from == SIZE_MAX ? q->endpoint : from, publisher.answer(q->msg), now);
        collect();
        return true;
    }
    void collect() {
        for (auto& d : sub.take_deliveries()) {
            delivered.push_back(std::move(d));
        }
    }
};

TEST(view_subscriber, starts_with_the_current_view) {
    fixture f;
    f.publish_up_to(5);
    f.sub.start(at(0));
    ASSERT_TRUE(f.serve(at(1)));
    ASSERT_EQ(f.delivered.size(), 1u);
    EXPECT_EQ(f.delivered[0].current, f.views[4]);
    EXPECT_FALSE(f.delivered[0].resync);
}

TEST(view_subscriber, delivers_each_next_view_from_the_stream) {
    fixture f;
    f.publish_up_to(5);
    f.sub.start(at(0));
    f.serve(at(1));
    for (std::size_t i = 5; i < 10; ++i) {
        f.sub.on_change(f.changes[i], at(2));
        f.sub.on_change(f.changes[i], at(2)); // a duplicate from a second publisher
    }
    f.collect();
    ASSERT_EQ(f.delivered.size(), 6u);
    for (std::size_t i = 1; i < f.delivered.size(); ++i) {
        EXPECT_EQ(f.delivered[i].current, f.views[4 + i]);
    }
    EXPECT_FALSE(f.sub.take_request());
}

TEST(view_subscriber, a_reply_to_another_request_is_ignored) {
    fixture f;
    f.publish_up_to(12);
    f.sub.start(at(0));
    auto q = f.sub.take_request();
    ASSERT_TRUE(q);
    auto stale = q->msg;
    stale.request_id += 100;
    f.sub.on_sync_reply(0, f.publisher.answer(stale), at(1));
    f.collect();
    EXPECT_TRUE(f.delivered.empty());
}

TEST(view_subscriber, detects_a_gap_and_fetches_what_it_missed) {
    fixture f;
    f.publish_up_to(5);
    f.sub.start(at(0));
    f.serve(at(1));
    f.publish_up_to(9);
    f.sub.on_change(f.changes[8], at(2)); // view 9 arrives, 6..8 were dropped
    f.collect();
    EXPECT_EQ(f.delivered.size(), 1u) << "nothing past the gap is delivered yet";
    EXPECT_EQ(f.sub.counters().gaps, 1u);
    ASSERT_TRUE(f.serve(at(3)));
    ASSERT_EQ(f.delivered.size(), 5u);
    for (std::size_t i = 0; i < f.delivered.size(); ++i) {
        EXPECT_EQ(f.delivered[i].current.id, view_id(5 + i));
        EXPECT_FALSE(f.delivered[i].resync);
    }
}

TEST(view_subscriber, behind_the_publishers_history_it_gets_a_resync) {
    fixture f;
    f.publish_up_to(3);
    f.sub.start(at(0));
    f.serve(at(1));
    f.publish_up_to(30); // ring of 8: 22..30 held
    f.sub.on_change(f.changes[29], at(2));
    ASSERT_TRUE(f.serve(at(3)));
    ASSERT_EQ(f.delivered.size(), 2u);
    EXPECT_TRUE(f.delivered[1].resync);
    EXPECT_EQ(f.delivered[1].current, f.views[29]);
    EXPECT_EQ(f.sub.counters().resyncs, 1u);
}

TEST(view_subscriber, fails_over_to_the_next_endpoint_when_one_does_not_answer) {
    fixture f;
    f.publish_up_to(4);
    f.sub.start(at(0));
    auto q = f.sub.take_request();
    ASSERT_TRUE(q);
    EXPECT_EQ(q->endpoint, 0u);
    f.sub.tick(at(50));
    EXPECT_FALSE(f.sub.take_request()) << "still waiting";
    f.sub.tick(at(101));
    q = f.sub.take_request();
    ASSERT_TRUE(q);
    EXPECT_EQ(q->endpoint, 1u);
    EXPECT_EQ(f.sub.counters().failovers, 1u);
    // The late answer of endpoint 0 is ignored; endpoint 1's is taken.
    f.sub.on_sync_reply(0, f.publisher.answer(q->msg), at(102));
    f.collect();
    EXPECT_TRUE(f.delivered.empty());
    f.sub.on_sync_reply(1, f.publisher.answer(q->msg), at(103));
    f.collect();
    ASSERT_EQ(f.delivered.size(), 1u);
}

TEST(view_subscriber, polls_when_the_stream_is_quiet) {
    fixture f;
    f.publish_up_to(3);
    f.sub.start(at(0));
    f.serve(at(1));
    f.publish_up_to(4); // view 4's publication was lost, and nothing follows it
    f.sub.tick(at(500));
    EXPECT_FALSE(f.sub.take_request());
    f.sub.tick(at(1001));
    ASSERT_TRUE(f.serve(at(1002)));
    ASSERT_EQ(f.delivered.size(), 2u);
    EXPECT_EQ(f.delivered[1].current, f.views[3]);
}

TEST(view_subscriber, a_full_view_one_ahead_is_delivered_and_further_ahead_is_a_gap) {
    fixture f;
    f.publish_up_to(3);
    f.sub.start(at(0));
    f.serve(at(1));
    f.sub.on_full(f.views[3], at(2)); // view 4, whole: it follows
    f.collect();
    ASSERT_EQ(f.delivered.size(), 2u);
    f.publish_up_to(7);
    f.sub.on_full(f.views[6], at(3)); // view 7: 5 and 6 are missing
    f.collect();
    EXPECT_EQ(f.delivered.size(), 2u);
    ASSERT_TRUE(f.serve(at(4)));
    ASSERT_EQ(f.delivered.size(), 5u);
    EXPECT_FALSE(f.delivered.back().resync);
}

} // namespace
} // namespace roster::views
