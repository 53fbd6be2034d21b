#pragma once

#include <type_traits>
#include <vector>

#include "consensus/message.hh"
#include "wire/codec_detail.hh"

// Private to wire/: the Raft messages between voters (consensus/message.hh).
namespace roster::wire::detail {

template <>
struct codec<consensus::vote_request> {
    // The pre-vote (Raft thesis §9.6) is its own table with the same fields, so that a voter of
    // another language tells the two apart by the body type alone.
    using tables = fb_tables<fb::PreVoteRequest, fb::VoteRequest>;
    static union_offset<fb::Body> encode(builder& b, const consensus::vote_request& m) {
        if (m.pre_vote) {
            return as_union<fb::Body>(
                fb::CreatePreVoteRequest(b, m.term.value(), m.last_index.value(), m.last_term.value()));
        }
        return as_union<fb::Body>(
            fb::CreateVoteRequest(b, m.term.value(), m.last_index.value(), m.last_term.value()));
    }
    template <typename Table> // fb::PreVoteRequest or fb::VoteRequest
    static consensus::vote_request decode(const Table& in) {
        return {raft_term(in.term()), log_index(in.last_log_index()), raft_term(in.last_log_term()),
                std::is_same_v<Table, fb::PreVoteRequest>};
    }
};

template <>
struct codec<consensus::vote_reply> {
    using tables = fb_tables<fb::PreVoteReply, fb::VoteReply>; // as vote_request
    static union_offset<fb::Body> encode(builder& b, const consensus::vote_reply& m) {
        if (m.pre_vote) {
            return as_union<fb::Body>(fb::CreatePreVoteReply(b, m.term.value(), m.granted));
        }
        return as_union<fb::Body>(fb::CreateVoteReply(b, m.term.value(), m.granted));
    }
    template <typename Table> // fb::PreVoteReply or fb::VoteReply
    static consensus::vote_reply decode(const Table& in) {
        return {raft_term(in.term()), in.granted(), std::is_same_v<Table, fb::PreVoteReply>};
    }
};

template <>
struct codec<consensus::entry> {
    static Offset<fb::Entry> encode(builder& b, const consensus::entry& e) {
        const auto data = b.CreateVector(e.data);
        return fb::CreateEntry(b, e.index.value(), e.term.value(), static_cast<fb::EntryKind>(e.kind), data);
    }
    static result<consensus::entry, decode_error> decode(const fb::Entry& in) {
        if (!known(in.kind())) {
            return invalid(fmt::format("entry kind {} is not known", static_cast<unsigned>(in.kind())));
        }
        bytes data;
        if (in.data() != nullptr) {
            data.assign(in.data()->begin(), in.data()->end());
        }
        return consensus::entry{log_index(in.index()), raft_term(in.term()),
                                static_cast<consensus::entry_kind>(in.kind()), std::move(data)};
    }
};

template <>
struct codec<consensus::append_request> {
    using tables = fb_tables<fb::AppendEntries>;
    static Offset<fb::AppendEntries> encode(builder& b, const consensus::append_request& m) {
        const auto entries = encode_each(b, m.entries);
        return fb::CreateAppendEntries(b, m.term.value(), m.prev_index.value(), m.prev_term.value(), entries,
                                       m.commit.value());
    }
    static result<consensus::append_request, decode_error> decode(const fb::AppendEntries& in) {
        consensus::append_request out{raft_term(in.term()),
                                      log_index(in.prev_log_index()),
                                      raft_term(in.prev_log_term()),
                                      {},
                                      log_index(in.leader_commit())};
        if (auto error = decode_each(in.entries(), out.entries)) {
            return *error;
        }
        return out;
    }
};

template <>
struct codec<consensus::append_reply> {
    using tables = fb_tables<fb::AppendEntriesReply>;
    static Offset<fb::AppendEntriesReply> encode(builder& b, const consensus::append_reply& m) {
        return fb::CreateAppendEntriesReply(b, m.term.value(), m.success, m.index.value(),
                                            m.hint_index.value(), m.hint_term.value());
    }
    static consensus::append_reply decode(const fb::AppendEntriesReply& in) {
        return {raft_term(in.term()), in.success(), log_index(in.index()), log_index(in.hint_index()),
                raft_term(in.hint_term())};
    }
};

template <>
struct codec<consensus::snapshot_request> {
    using tables = fb_tables<fb::InstallSnapshot>;
    static Offset<fb::InstallSnapshot> encode(builder& b, const consensus::snapshot_request& m) {
        const auto data = b.CreateVector(m.data);
        return fb::CreateInstallSnapshot(b, m.term.value(), m.last_index.value(), m.last_term.value(), data);
    }
    static consensus::snapshot_request decode(const fb::InstallSnapshot& in) {
        bytes data;
        if (in.data() != nullptr) {
            data.assign(in.data()->begin(), in.data()->end());
        }
        return {raft_term(in.term()), log_index(in.last_included_index()), raft_term(in.last_included_term()),
                std::move(data)};
    }
};

template <>
struct codec<consensus::snapshot_reply> {
    using tables = fb_tables<fb::InstallSnapshotReply>;
    static Offset<fb::InstallSnapshotReply> encode(builder& b, const consensus::snapshot_reply& m) {
        return fb::CreateInstallSnapshotReply(b, m.term.value(), m.accepted, m.match_index.value());
    }
    static consensus::snapshot_reply decode(const fb::InstallSnapshotReply& in) {
        return {raft_term(in.term()), in.accepted(), log_index(in.match_index())};
    }
};

} // namespace roster::wire::detail
