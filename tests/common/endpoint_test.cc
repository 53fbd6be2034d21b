#include <gtest/gtest.h>

#include "common/endpoint.hh"

namespace roster {
namespace {

TEST(parse_host_port, takes_host_and_port) {
    auto e = parse_host_port("127.0.0.1:7400");
    ASSERT_TRUE(e) << e.error();
    EXPECT_EQ(*e, (host_port{"127.0.0.1", 7400}));
    EXPECT_EQ(e->zmq(), "tcp://127.0.0.1:7400");
    EXPECT_TRUE(parse_host_port("node-3.example.org:1"));
    EXPECT_TRUE(parse_host_port("*:65535"));
}

// Issue 15: rosterctl died with zmq::error_t on these; rosterd's words for them.
TEST(parse_host_port, names_what_is_wrong_quoting_the_text) {
    const std::pair<const char*, const char*> cases[] = {
        {"localhost", "'localhost' is not HOST:PORT (no port)"},
        {"127.0.0.1:", "'127.0.0.1:' is not HOST:PORT (no port)"},
        {"", "'' is not HOST:PORT (no port)"},
        {":7400", "':7400' is not HOST:PORT (bad host '')"},
        {"host:99999", "'host:99999' is not HOST:PORT (port must be 1..65535)"},
        {"host:0", "'host:0' is not HOST:PORT (port must be 1..65535)"},
        {"host:-1", "'host:-1' is not HOST:PORT (port must be 1..65535)"},
        {"host:80x", "'host:80x' is not HOST:PORT (port must be 1..65535)"},
        {"a b:1", "'a b:1' is not HOST:PORT (bad host 'a b')"},
        {"tcp://h:1", "'tcp://h:1' is not HOST:PORT (bad host 'tcp://h')"},
    };
    for (const auto& [text, why] : cases) {
        auto e = parse_host_port(text);
        ASSERT_FALSE(e) << text;
        EXPECT_EQ(e.error(), why);
    }
}

TEST(parse_voter_endpoint, takes_an_optional_voter_id) {
    auto plain = parse_voter_endpoint("h:1");
    ASSERT_TRUE(plain);
    EXPECT_EQ(*plain, (voter_endpoint{voter_id(), {"h", 1}}));
    auto named = parse_voter_endpoint("3@h:2");
    ASSERT_TRUE(named);
    EXPECT_EQ(*named, (voter_endpoint{voter_id(3), {"h", 2}}));
    EXPECT_EQ(parse_voter_endpoint("h:1", true).error(), "'h:1' is not ID@HOST:PORT");
}

TEST(parse_voter_endpoint, names_what_is_wrong) {
    EXPECT_EQ(parse_voter_endpoint("1@").error(), "'1@': '' is not HOST:PORT (no port)");
    EXPECT_EQ(parse_voter_endpoint("@h:1").error(), "'@h:1': the voter id must be a number from 1");
    EXPECT_EQ(parse_voter_endpoint("0@h:1").error(), "'0@h:1': the voter id must be a number from 1");
    EXPECT_EQ(parse_voter_endpoint("x@h:1").error(), "'x@h:1': the voter id must be a number from 1");
    EXPECT_EQ(parse_voter_endpoint("99999999999@h:1").error(),
              "'99999999999@h:1': the voter id must be a number from 1");
    EXPECT_EQ(parse_voter_endpoint("1@h").error(), "'1@h': 'h' is not HOST:PORT (no port)");
}

} // namespace
} // namespace roster
