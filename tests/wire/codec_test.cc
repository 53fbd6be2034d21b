#include <algorithm>
#include <cstring>
#include <random>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "roster_generated.h"
#include "tests/wire/golden_bytes.hh"
#include "tests/wire/samples.hh"
#include "wire/codec.hh"
#include "wire/codec_detail.hh"

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
    e.msg = membership::heartbeat{member_id(42), incarnation_number(5), 77, view_id(12), 500};
    decoded = decode(encode(e));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(std::get<membership::heartbeat>(decoded->msg).interval_ms, 500u);
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
    for (auto type : fbs::EnumValuesBody()) {
        flatbuffers::FlatBufferBuilder b;
        const auto env = fbs::CreateEnvelope(b, wire::protocol_version, b.CreateString("roster"), 0, type, 0);
        const auto r = decode(finish(b, env));
        ASSERT_FALSE(r) << fbs::EnumNameBody(type);
        EXPECT_EQ(r.error().kind, decode_error_kind::missing_body) << fbs::EnumNameBody(type);
    }
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

TEST(codec, a_suspicion_report_without_details_decodes_as_an_older_voter_sent_it) {
    flatbuffers::FlatBufferBuilder b;
    std::vector<fbs::Suspicion> items{fbs::Suspicion(4, 2, 9.5, true)};
    const auto report = fbs::CreateSuspicionReport(b, false, b.CreateVectorOfStructs(items));
    const auto env = fbs::CreateEnvelope(b, wire::protocol_version, b.CreateString("roster"), 0,
                                         fbs::Body::SuspicionReport, report.Union());
    const auto r = decode(finish(b, env));
    ASSERT_TRUE(r) << r.error().describe();
    const auto& got = std::get<membership::suspicion_report>(r->msg);
    ASSERT_EQ(got.suspicions.size(), 1u);
    EXPECT_EQ(got.suspicions[0].phi, 9.5);
    EXPECT_EQ(got.suspicions[0].samples, 0u);
    EXPECT_EQ(got.suspicions[0].silence_ms, membership::suspicion::never_heard);
}

TEST(codec, suspicion_details_that_do_not_match_the_suspicions_are_refused) {
    flatbuffers::FlatBufferBuilder b;
    std::vector<fbs::Suspicion> items{fbs::Suspicion(4, 2, 9.5, true), fbs::Suspicion(5, 1, 9.0, true)};
    std::vector<fbs::SuspicionDetail> details{fbs::SuspicionDetail(10, 300)};
    const auto report = fbs::CreateSuspicionReport(b, false, b.CreateVectorOfStructs(items),
                                                   b.CreateVectorOfStructs(details));
    const auto env = fbs::CreateEnvelope(b, wire::protocol_version, b.CreateString("roster"), 0,
                                         fbs::Body::SuspicionReport, report.Union());
    const auto r = decode(finish(b, env));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, decode_error_kind::invalid_field);
    EXPECT_NE(r.error().detail.find("1 details for 2 suspicions"), std::string::npos) << r.error().detail;
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

// An operator's removal (issue 15): a reader of an older version refuses a whole message with a
// removal reason it does not know, so the reason it reads must be one of the first three.
TEST(codec, an_older_reader_sees_an_operators_removal_as_left) {
    const views::view_change c = testing::operator_removal_change();
    const bytes encoded = encode({protocol_version, "c", {}, c});
    const fbs::ViewChange* in = fbs::GetSizePrefixedEnvelope(encoded.data())->body_as_ViewChange();
    ASSERT_NE(in, nullptr);
    ASSERT_EQ(in->removed()->size(), 2u);
    EXPECT_EQ(in->removed()->Get(0)->reason(), fbs::RemovalReason::Suspected);
    EXPECT_EQ(in->removed()->Get(1)->reason(), fbs::RemovalReason::Left) << "where an older reader looks";
    ASSERT_NE(in->removed_reasons(), nullptr);
    EXPECT_EQ(in->removed_reasons()->Get(1), fbs::RemovalReason::RemovedByOperator);
    const auto decoded = decode(encoded);
    ASSERT_TRUE(decoded) << decoded.error().describe();
    EXPECT_EQ(std::get<views::view_change>(decoded->msg), c) << "a newer reader sees the exact reason";

    // The same in a whole view, a node event and a heartbeat reply.
    views::view v;
    v.id = view_id(21);
    v.removed = c.removed;
    const envelope events[] = {
        {protocol_version, "c", {}, views::full_view{v}},
        {protocol_version, "c", {}, views::node_event{views::node_event::kind::removed, member_id(7), member_id(),
                                                      view_id(21), views::removal_reason::removed_by_operator}},
        {protocol_version, "c", {}, membership::heartbeat_reply{member_id(7), incarnation_number(3),
                                                                membership::member_status::removed, view_id(21),
                                                                views::removal_reason::removed_by_operator}},
    };
    for (const auto& e : events) {
        const auto r = decode(encode(e));
        ASSERT_TRUE(r) << r.error().describe();
        EXPECT_EQ(*r, e);
    }
    const bytes event = encode(events[1]);
    EXPECT_EQ(fbs::GetSizePrefixedEnvelope(event.data())->body_as_NodeEvent()->reason(), fbs::RemovalReason::Left);
    const bytes full = encode(events[0]);
    EXPECT_EQ(fbs::GetSizePrefixedEnvelope(full.data())->body_as_FullView()->view()->removed()->Get(1)->reason(),
              fbs::RemovalReason::Left);
}

// A reason from a newer writer that this build does not know, or a list of exact reasons of the
// wrong length, costs only the exact reason: the message still decodes, with the reason in the old
// place.
TEST(codec, an_exact_reason_this_build_does_not_know_falls_back_to_the_old_place) {
    for (const std::vector<fbs::RemovalReason>& exact :
         {std::vector<fbs::RemovalReason>{static_cast<fbs::RemovalReason>(77)},
          std::vector<fbs::RemovalReason>{fbs::RemovalReason::RemovedByOperator, fbs::RemovalReason::Left}}) {
        flatbuffers::FlatBufferBuilder b;
        std::vector<fbs::Removal> removed{fbs::Removal(5, fbs::RemovalReason::Left)};
        const auto removals = b.CreateVectorOfStructs(removed);
        const auto reasons = b.CreateVector(exact);
        const auto change = fbs::CreateViewChange(b, 3, 0, removals, 1, 1, reasons);
        const auto env = fbs::CreateEnvelope(b, wire::protocol_version, b.CreateString("roster"), 0,
                                             fbs::Body::ViewChange, change.Union());
        const auto r = decode(finish(b, env));
        ASSERT_TRUE(r) << r.error().describe();
        const auto& c = std::get<views::view_change>(r->msg);
        ASSERT_EQ(c.removed.size(), 1u);
        EXPECT_EQ(c.removed[0].reason, views::removal_reason::left);
    }
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
    const membership::command c = testing::sample_command();
    const auto decoded = decode_command(encode_command(c));
    ASSERT_TRUE(decoded) << decoded.error().describe();
    EXPECT_EQ(*decoded, c);
    EXPECT_TRUE(decode_command(encode_command(membership::command{})));
}

// Added in 0.2: a member's voter id and join view, a join's voter id; an older peer leaves them 0.
TEST(codec, voter_ids_and_join_views_round_trip) {
    views::view v;
    v.id = view_id(9);
    v.members = {{member_id(1), "v1", "h:1", "h:2", incarnation_number(5), {}, "", voter_id(1), view_id(2)},
                 {member_id(4), "app", "h:3", "h:4", incarnation_number(6), {}, "", voter_id(), view_id(7)}};
    v.leader = member_id(1);
    v.fencing_token = view_id(2);
    const envelope full{protocol_version, "c", {}, views::full_view{v}};
    const auto decoded = decode(encode(full));
    ASSERT_TRUE(decoded) << decoded.error().describe();
    EXPECT_EQ(*decoded, full);

    membership::join_request q{1, "v3", "h:5", "h:6", incarnation_number(1), {}};
    q.voter = voter_id(3);
    const envelope join{protocol_version, "c", {}, q};
    EXPECT_EQ(decode(encode(join)).value(), join);

    membership::join_op op{"v3", "h:5", "h:6", incarnation_number(1), {}};
    op.voter = voter_id(3);
    const membership::command c{{op}};
    EXPECT_EQ(decode_command(encode_command(c)).value(), c);
}

// The batcher sizes commands with op_bytes_bound before encoding them: the bound must hold for any
// mix of ops, the largest joins included, and stay close enough to be useful.
TEST(log_codec, op_bytes_bound_is_an_upper_bound_of_the_encoded_command) {
    std::mt19937_64 rng(17);
    const auto text = [&](std::size_t most) {
        return std::string(static_cast<std::size_t>(rng() % (most + 1)), static_cast<char>('a' + rng() % 26));
    };
    for (int round = 0; round < 200; ++round) {
        membership::command c;
        const auto ops = 1 + rng() % 300;
        for (std::uint64_t i = 0; i < ops; ++i) {
            switch (rng() % 4) {
            case 0:
                c.ops.emplace_back(membership::leave_op{member_id(rng()), incarnation_number(rng())});
                break;
            case 1:
                c.ops.emplace_back(membership::remove_op{member_id(rng()), incarnation_number(rng()),
                                                         static_cast<views::removal_reason>(rng() % 4)});
                break;
            default: {
                membership::join_op j{"n" + text(254), text(255), text(255), incarnation_number(rng()), {}};
                const bool largest = rng() % 8 == 0; // every field at its limit
                const std::size_t tags = largest ? 32 : rng() % 4;
                for (std::size_t t = 0; t < tags; ++t) {
                    j.tags.push_back({largest ? std::string(64, 'k') : "k" + text(63),
                                      largest ? std::string(256, 'v') : text(256)});
                }
                j.key = rng() % 2 == 0 ? std::string(32, 'x') : std::string();
                j.voter = voter_id(static_cast<std::uint32_t>(rng() % 6));
                c.ops.emplace_back(std::move(j));
            }
            }
        }
        std::size_t bound = command_bytes_overhead;
        for (const auto& o : c.ops) {
            bound += op_bytes_bound(o);
        }
        const std::size_t encoded = encode_command(c).size();
        ASSERT_LE(encoded, bound) << "round " << round << ", " << c.ops.size() << " ops";
        EXPECT_GT(encoded * 3, bound) << "round " << round << ": the bound is three times the size";
    }
    // A join as the bootstrap's load sends it (a short name, nothing else) and as a member sends it.
    for (const membership::join_op& j :
         {membership::join_op{"load-1234", "", "", incarnation_number(1), {}},
          membership::join_op{"app-17", "10.0.0.17:7401", "10.0.0.17:7402", incarnation_number(1), {}, std::string(32, 'k')}}) {
        const membership::command c{std::vector<membership::op>(1000, j)};
        const std::size_t encoded = encode_command(c).size();
        EXPECT_LE(encoded, command_bytes_overhead + 1000 * op_bytes_bound(j));
        EXPECT_LT(1000 * op_bytes_bound(j), encoded * 4) << j.name << ": at most 4 times the size";
    }
}

TEST(log_codec, a_snapshot_round_trips) {
    const membership::membership_snapshot s = testing::sample_snapshot();
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

TEST(log_codec, unaligned_payloads_decode) {
    const bytes cmd = encode_command(testing::sample_command());
    const bytes snap = encode_snapshot(testing::sample_snapshot());
    std::vector<std::uint8_t> shifted(cmd.size() + snap.size() + 3);
    std::memcpy(shifted.data() + 1, cmd.data(), cmd.size());
    std::memcpy(shifted.data() + 1 + cmd.size(), snap.data(), snap.size());
    const auto c = decode_command(bytes_view(shifted.data() + 1, cmd.size()));
    ASSERT_TRUE(c) << c.error().describe();
    EXPECT_EQ(*c, testing::sample_command());
    const auto s = decode_snapshot(bytes_view(shifted.data() + 1 + cmd.size(), snap.size()));
    ASSERT_TRUE(s) << s.error().describe();
    EXPECT_EQ(*s, testing::sample_snapshot());
}

bytes command_of(flatbuffers::FlatBufferBuilder& b, flatbuffers::Offset<fbs::Change> change) {
    b.Finish(fbs::CreateCommand(b, b.CreateVector(&change, 1)), "RCMD");
    return bytes(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

TEST(log_codec, an_unknown_or_absent_op_is_an_invalid_field) {
    {
        flatbuffers::FlatBufferBuilder b;
        const auto op = fbs::CreateLeaveOp(b, 1, 1);
        const auto r =
            decode_command(command_of(b, fbs::CreateChange(b, static_cast<fbs::Op>(77), op.Union())));
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().kind, decode_error_kind::invalid_field);
        EXPECT_NE(r.error().detail.find("77"), std::string::npos);
    }
    {
        flatbuffers::FlatBufferBuilder b;
        const auto r = decode_command(command_of(b, fbs::CreateChange(b, fbs::Op::NONE)));
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().kind, decode_error_kind::invalid_field);
    }
    for (auto type : {fbs::Op::JoinOp, fbs::Op::LeaveOp, fbs::Op::RemoveOp}) {
        flatbuffers::FlatBufferBuilder b;
        const auto r = decode_command(command_of(b, fbs::CreateChange(b, type)));
        ASSERT_FALSE(r) << fbs::EnumNameOp(type) << " without its table";
        EXPECT_EQ(r.error().kind, decode_error_kind::invalid_field);
    }
}

TEST(log_codec, an_operators_removal_reads_as_left_to_an_older_voter_and_exactly_to_this_one) {
    const membership::command c{{membership::remove_op{member_id(7), incarnation_number(3),
                                                       views::removal_reason::removed_by_operator}}};
    const bytes encoded = encode_command(c);
    const auto decoded = decode_command(encoded);
    ASSERT_TRUE(decoded) << decoded.error().describe();
    EXPECT_EQ(decoded.value(), c);
    // An older voter reads `reason` only: it applies the removal as a leave (the same members, so
    // the same views but for the reason), instead of skipping the entry.
    const auto* cmd = flatbuffers::GetRoot<fbs::Command>(encoded.data());
    EXPECT_EQ(cmd->changes()->Get(0)->op_as_RemoveOp()->reason(), fbs::RemovalReason::Left);
}

TEST(log_codec, a_removal_reason_out_of_range_is_an_invalid_field) {
    flatbuffers::FlatBufferBuilder b;
    const auto op = fbs::CreateRemoveOp(b, 4, 9, static_cast<fbs::RemovalReason>(77));
    const auto r = decode_command(command_of(b, fbs::CreateChange(b, fbs::Op::RemoveOp, op.Union())));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, decode_error_kind::invalid_field);
}

} // namespace
} // namespace roster::wire

namespace roster::wire {
namespace {

std::string to_hex(const bytes& b) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(b.size() * 2);
    for (std::uint8_t x : b) {
        out.push_back(digits[x >> 4]);
        out.push_back(digits[x & 0xf]);
    }
    return out;
}

// Fails with the first byte that differs, so that a change is found in the schema's terms (which
// table, which field) rather than by reading two screens of hex.
void expect_golden(const testing::golden_bytes& golden, const bytes& encoded) {
    const std::string hex = to_hex(encoded);
    if (hex == golden.hex) {
        return;
    }
    const auto diff = std::mismatch(hex.begin(), hex.end(), golden.hex.begin(), golden.hex.end());
    const auto at = static_cast<std::size_t>(diff.first - hex.begin()) / 2;
    ADD_FAILURE() << golden.name << ": " << encoded.size() << " bytes, golden " << golden.hex.size() / 2
                  << ", first difference at byte " << at << "\n  now:    " << hex.substr(at * 2, 64)
                  << "\n  golden: " << golden.hex.substr(at * 2, 64);
}

// In the order of golden_other_samples.
std::vector<bytes> other_samples() {
    return {
        encode({wire::protocol_version, "c", {}, views::sync_reply{}}),
        encode({wire::protocol_version,
                "c",
                {},
                membership::join_request{1, "only-a-name", "", "", incarnation_number(1), {}}}),
        encode_command(testing::sample_command()),
        encode_command(membership::command{}),
        encode_snapshot(testing::sample_snapshot()),
        encode({wire::protocol_version, "c", {}, testing::operator_removal_change()}),
        encode_command(membership::command{{membership::remove_op{
            member_id(7), incarnation_number(3), views::removal_reason::removed_by_operator}}}),
        encode({wire::protocol_version,
                "c",
                {},
                membership::suspicion_report{
                    true,
                    {{member_id(4), incarnation_number(2), 9.5, true, 37, 412}},
                    {{member_id(5), incarnation_number(1), 3.25, false}, {member_id(6), incarnation_number(3), 4.0, false}}}}),
        encode({wire::protocol_version,
                "c",
                {},
                membership::heartbeat{member_id(42), incarnation_number(5), 77, view_id(12), 500}}),
    };
}

TEST(golden, every_body_encodes_to_the_same_bytes_as_before) {
    const auto samples = testing::sample_envelopes();
    ASSERT_EQ(samples.size(), std::size(testing::golden_envelopes));
    for (std::size_t i = 0; i < samples.size(); ++i) {
        const bytes encoded = encode(samples[i]);
        EXPECT_EQ(fbs::EnumNameBody(fbs::GetSizePrefixedEnvelope(encoded.data())->body_type()),
                  testing::golden_envelopes[i].name)
            << "sample " << i;
        expect_golden(testing::golden_envelopes[i], encoded);
    }
}

TEST(golden, empty_fields_and_log_payloads_encode_to_the_same_bytes_as_before) {
    const auto encoded = other_samples();
    ASSERT_EQ(encoded.size(), std::size(testing::golden_other_samples));
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        expect_golden(testing::golden_other_samples[i], encoded[i]);
    }
}

} // namespace
} // namespace roster::wire

namespace roster::wire {
namespace {

// A vector whose elements start 4 bytes off their alignment: the verifier lets it through (it
// checks only the length field), the codec must not read it.
TEST(codec, a_vector_of_8_byte_elements_off_its_alignment_is_refused) {
    alignas(8) std::uint8_t memory[32] = {};
    const std::uint32_t one = 1;
    std::memcpy(memory, &one, sizeof one);     // a vector at offset 0: its data at offset 4
    std::memcpy(memory + 4, &one, sizeof one); // and one at offset 4: its data at offset 8
    const auto* off = reinterpret_cast<const flatbuffers::Vector<std::uint64_t>*>(memory);
    const auto* on = reinterpret_cast<const flatbuffers::Vector<std::uint64_t>*>(memory + 4);
    const auto error = detail::misaligned<std::uint64_t>(off, "joined");
    ASSERT_TRUE(error);
    EXPECT_EQ(error->kind, decode_error_kind::malformed);
    EXPECT_NE(error->detail.find("joined"), std::string::npos);
    EXPECT_FALSE(detail::misaligned<std::uint64_t>(on, "joined"));
    EXPECT_FALSE(detail::misaligned<std::uint64_t>(
        static_cast<const flatbuffers::Vector<std::uint64_t>*>(nullptr), "x"));
    EXPECT_TRUE(detail::misaligned<fbs::Removal>(off, "removed")) << "structs of 8-byte fields alike";
    const std::uint32_t zero = 0;
    std::memcpy(memory, &zero, sizeof zero);
    EXPECT_FALSE(detail::misaligned<std::uint64_t>(off, "joined"))
        << "an empty vector reads nothing, and the builder aligns it to 4 bytes only";
}

} // namespace
} // namespace roster::wire

namespace roster::wire {
namespace {

// Empty vectors of 8-byte elements land on 4-byte boundaries (the builder aligns only what has
// elements): every layout of them must still decode.
TEST(codec, views_with_empty_vectors_decode_whatever_their_layout) {
    for (int members = 0; members < 40; ++members) {
        membership::membership_snapshot s;
        s.view.id = view_id(1);
        for (int i = 1; i <= members; ++i) {
            s.view.members.push_back(
                {member_id(i),
                 "m" + std::string(static_cast<std::size_t>(i % 7), 'x') + std::to_string(i),
                 "",
                 "",
                 incarnation_number(1),
                 {}});
        }
        s.view.leader = members > 0 ? member_id(1) : member_id();
        s.next_member = member_id(members + 1);
        auto decoded = decode_snapshot(encode_snapshot(s));
        ASSERT_TRUE(decoded) << members << ": " << decoded.error().describe();
        EXPECT_EQ(decoded.value(), s);
        const views::view_change c{view_id(2), {}, {}, member_id(), view_id()};
        auto env = decode(
            encode(envelope{protocol_version, std::string(static_cast<std::size_t>(members), 'c'), {}, c}));
        ASSERT_TRUE(env) << members << ": " << env.error().describe();
    }
}

} // namespace
} // namespace roster::wire
