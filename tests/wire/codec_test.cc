#include <cstring>
#include <set>

#include <gtest/gtest.h>

#include "roster_generated.h"
#include "tests/wire/samples.hh"
#include "wire/codec.hh"

namespace roster::wire {
namespace {

namespace fbs = roster::wire::fb;

bytes finish(flatbuffers::FlatBufferBuilder& b, flatbuffers::Offset<fbs::Envelope> env) {
    fbs::FinishSizePrefixedEnvelopeBuffer(b, env);
    return bytes(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

TEST(codec, every_body_round_trips) {
    for (const auto& original : testing::sample_envelopes()) {
        const bytes encoded = encode(original);
        const auto decoded = decode(encoded);
        ASSERT_TRUE(decoded) << "body index " << original.msg.index() << ": " << decoded.error().describe();
        EXPECT_EQ(*decoded, original) << "body index " << original.msg.index();
    }
}

TEST(codec, samples_cover_every_body_type_of_the_schema) {
    std::set<fbs::Body> seen;
    for (const auto& original : testing::sample_envelopes()) {
        const bytes encoded = encode(original);
        seen.insert(fbs::GetSizePrefixedEnvelope(encoded.data())->body_type());
    }
    for (auto type : fbs::EnumValuesBody()) {
        if (type != fbs::Body::NONE) {
            EXPECT_TRUE(seen.count(type)) << "no sample for body " << fbs::EnumNameBody(type);
        }
    }
}

TEST(codec, empty_and_optional_fields_round_trip) {
    wire::envelope e{wire::protocol_version, "c", {}, views::sync_reply{}};
    auto decoded = decode(encode(e));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, e);
    e.msg = membership::join_request{1, "only-a-name", "", "", incarnation_number(1), {}};
    decoded = decode(encode(e));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, e);
}

TEST(codec, every_truncation_is_refused) {
    for (const auto& original : testing::sample_envelopes()) {
        const bytes encoded = encode(original);
        for (std::size_t n = 0; n < encoded.size(); ++n) {
            const bytes cut(encoded.begin(), encoded.begin() + static_cast<std::ptrdiff_t>(n));
            const auto r = decode(cut);
            ASSERT_FALSE(r) << "a prefix of " << n << " of " << encoded.size() << " bytes was accepted";
            if (n >= 12) {
                EXPECT_EQ(r.error().kind, decode_error_kind::truncated) << r.error().describe();
            }
        }
    }
}

TEST(codec, trailing_bytes_are_refused) {
    bytes encoded = encode(testing::sample_envelopes().at(0));
    encoded.push_back(0);
    const auto r = decode(encoded);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, decode_error_kind::malformed);
    EXPECT_NE(r.error().detail.find("trailing"), std::string::npos);
}

TEST(codec, a_body_type_without_a_body_is_refused) {
    flatbuffers::FlatBufferBuilder b;
    const auto env = fbs::CreateEnvelope(b, wire::protocol_version, b.CreateString("roster"), 0,
                                         fbs::Body::HeartbeatReply, 0);
    const auto r = decode(finish(b, env));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, decode_error_kind::missing_body);
}

TEST(codec, empty_input_is_refused_as_empty) {
    const auto r = decode({});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, decode_error_kind::empty);
}

TEST(codec, bytes_without_the_identifier_are_not_roster) {
    const char text[] = "GET /metrics HTTP/1.1\r\n\r\n";
    const auto r = decode(bytes_view(reinterpret_cast<const std::uint8_t*>(text), sizeof(text) - 1));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, decode_error_kind::not_roster);
    EXPECT_NE(r.error().describe().find("RSTR"), std::string::npos);
}

TEST(codec, oversized_input_is_refused_before_parsing) {
    bytes big(max_message_size + 1, 0);
    const auto r = decode(big);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, decode_error_kind::too_large);
}

TEST(codec, a_wrong_protocol_version_is_refused) {
    for (std::uint16_t version : {0, 2, 65535}) {
        flatbuffers::FlatBufferBuilder b;
        const auto hb = fbs::CreateHeartbeat(b, 1, 1, 1, 1);
        const auto env =
            fbs::CreateEnvelope(b, version, b.CreateString("roster"), 0, fbs::Body::Heartbeat, hb.Union());
        const auto r = decode(finish(b, env));
        ASSERT_FALSE(r) << "version " << version;
        EXPECT_EQ(r.error().kind, decode_error_kind::unsupported_version);
        EXPECT_NE(r.error().detail.find(std::to_string(version)), std::string::npos);
    }
}

TEST(codec, a_missing_body_is_refused) {
    flatbuffers::FlatBufferBuilder b;
    const auto env = fbs::CreateEnvelope(b, wire::protocol_version, b.CreateString("roster"));
    const auto r = decode(finish(b, env));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, decode_error_kind::missing_body);
}

TEST(codec, a_body_type_from_a_future_version_is_refused) {
    flatbuffers::FlatBufferBuilder b;
    const auto hb = fbs::CreateHeartbeat(b, 1, 1, 1, 1);
    const auto env = fbs::CreateEnvelope(b, wire::protocol_version, b.CreateString("roster"), 0,
                                         static_cast<fbs::Body>(200), hb.Union());
    const auto r = decode(finish(b, env));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, decode_error_kind::missing_body);
    EXPECT_NE(r.error().detail.find("200"), std::string::npos);
}

TEST(codec, a_missing_required_field_is_malformed) {
    flatbuffers::FlatBufferBuilder b;
    const auto hb = fbs::CreateHeartbeat(b, 1, 1, 1, 1);
    // No cluster name, which the schema requires.
    const auto env = fbs::CreateEnvelope(b, wire::protocol_version, 0, 0, fbs::Body::Heartbeat, hb.Union());
    const auto r = decode(finish(b, env));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, decode_error_kind::malformed);
}

TEST(codec, an_enum_out_of_range_is_an_invalid_field) {
    flatbuffers::FlatBufferBuilder b;
    const auto reply = fbs::CreateHeartbeatReply(b, 1, 1, static_cast<fbs::MemberStatus>(9), 1);
    const auto env = fbs::CreateEnvelope(b, wire::protocol_version, b.CreateString("roster"), 0,
                                         fbs::Body::HeartbeatReply, reply.Union());
    const auto r = decode(finish(b, env));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, decode_error_kind::invalid_field);
    EXPECT_NE(r.error().detail.find("9"), std::string::npos);
}

TEST(codec, a_removal_reason_out_of_range_is_an_invalid_field) {
    flatbuffers::FlatBufferBuilder b;
    std::vector<fbs::Removal> removed{fbs::Removal(5, static_cast<fbs::RemovalReason>(77))};
    const auto change = fbs::CreateViewChange(b, 3, 0, b.CreateVectorOfStructs(removed), 1, 1);
    const auto env = fbs::CreateEnvelope(b, wire::protocol_version, b.CreateString("roster"), 0,
                                         fbs::Body::ViewChange, change.Union());
    const auto r = decode(finish(b, env));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, decode_error_kind::invalid_field);
}

TEST(codec, an_unaligned_buffer_decodes) {
    const auto original = testing::sample_envelopes().at(15); // the full view
    const bytes encoded = encode(original);
    std::vector<std::uint8_t> shifted(encoded.size() + 3);
    std::memcpy(shifted.data() + 3, encoded.data(), encoded.size());
    const auto r = decode(bytes_view(shifted.data() + 3, encoded.size()));
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(*r, original);
}

} // namespace
} // namespace roster::wire

namespace roster::wire {
namespace {

TEST(log_codec, a_command_round_trips) {
    membership::command c;
    c.ops.push_back(membership::join_op{
        "db-1", "10.0.0.1:7400", "10.0.0.1:7402", incarnation_number(7), {{"zone", "a"}}});
    c.ops.push_back(membership::leave_op{member_id(3), incarnation_number(2)});
    c.ops.push_back(
        membership::remove_op{member_id(4), incarnation_number(9), views::removal_reason::suspected});
    c.ops.push_back(membership::join_op{"bare", "", "", incarnation_number(1), {}});
    const auto decoded = decode_command(encode_command(c));
    ASSERT_TRUE(decoded) << decoded.error().describe();
    EXPECT_EQ(*decoded, c);
    EXPECT_TRUE(decode_command(encode_command(membership::command{})));
}

TEST(log_codec, a_snapshot_round_trips) {
    membership::membership_snapshot s;
    s.view = std::get<views::full_view>(testing::sample_envelopes().at(15).msg).view;
    s.next_member = member_id(77);
    s.incarnations = {{"a", incarnation_number(1)}, {"b", incarnation_number(5)}};
    const auto decoded = decode_snapshot(encode_snapshot(s));
    ASSERT_TRUE(decoded) << decoded.error().describe();
    EXPECT_EQ(*decoded, s);
}

TEST(log_codec, bad_payloads_are_refused) {
    const bytes cmd =
        encode_command(membership::command{{membership::leave_op{member_id(1), incarnation_number(1)}}});
    EXPECT_FALSE(decode_command({}));
    EXPECT_EQ(decode_snapshot(cmd).error().kind, decode_error_kind::not_roster)
        << "a command is not a snapshot";
    for (std::size_t n = 0; n < cmd.size(); ++n) {
        EXPECT_FALSE(decode_command(bytes_view(cmd.data(), n))) << "prefix " << n;
    }
    bytes flipped = cmd;
    flipped[flipped.size() / 2] ^= 0xff;
    (void)decode_command(flipped); // refused or not, never a crash (ASan checks the reads)
}

} // namespace
} // namespace roster::wire
