// Writes the seed corpus of every fuzz target (fuzz/corpus/<target>/<name>) with the real
// encoders: wire::encode for envelopes, encode_command and encode_snapshot for the log payloads,
// membership_state for realistic snapshots, and the real sqlite_storage for data files.
//
//   make_corpus DIR        (scripts/fuzz --make-corpus runs it on fuzz/corpus)
//
// The output is deterministic: the same build writes the same files.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "consensus/sqlite_storage.hh"
#include "fuzz/harness.hh"
#include "fuzz/storage_script.hh"
#include "membership/membership_state.hh"
#include "tests/wire/samples.hh"
#include "wire/codec.hh"

using namespace roster;
namespace fs = std::filesystem;

namespace {

fs::path out_dir;
int written = 0;

void write(const std::string& target, const std::string& name, const bytes& b) {
    const fs::path dir = out_dir / target;
    fs::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    ++written;
}

void write_text(const std::string& target, const std::string& name, const std::string& s) {
    write(target, name, bytes(s.begin(), s.end()));
}

// Parts joined with the separator, as the targets split them.
bytes joined(const std::vector<bytes>& parts) {
    bytes out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) {
            out.insert(out.end(), fuzz::separator.begin(), fuzz::separator.end());
        }
        out.insert(out.end(), parts[i].begin(), parts[i].end());
    }
    return out;
}

const wire::sender from_member{voter_id(), member_id(4), "m4"};
const wire::sender from_client{voter_id(), member_id(), "rosterctl"};
const wire::sender from_voter2{voter_id(2), member_id(2), "v2"};
const wire::sender from_voter3{voter_id(3), member_id(3), "v3"};

bytes env(const wire::sender& from, wire::body b) {
    return wire::encode(wire::envelope{wire::protocol_version, "roster", from, std::move(b)});
}

views::member member(std::uint64_t id, const std::string& name) {
    return {member_id(id),
            name,
            "127.0.0.1:" + std::to_string(7400 + 10 * id),
            "127.0.0.1:" + std::to_string(7402 + 10 * id),
            incarnation_number(1),
            {{"zone", "a"}}};
}

membership::join_op join(const std::string& name, std::uint64_t incarnation = 1) {
    return {name, "127.0.0.1:7500", "127.0.0.1:7502", incarnation_number(incarnation), {{"zone", "a"}}};
}

// The state after voters v1..v3 and members a, b joined, and b was removed: a realistic snapshot.
membership::membership_snapshot realistic_snapshot() {
    membership::membership_state s;
    s.apply({{join("v1"), join("v2"), join("v3")}});
    s.apply({{join("a"), join("b", 4)}});
    s.apply({{membership::remove_op{member_id(5), incarnation_number(4), views::removal_reason::suspected}}});
    return s.snapshot();
}

// Three voters (ids 1-3) and member 4, as a view: what a voter publishes.
views::view view_of(std::uint64_t id) {
    views::view v;
    v.id = view_id(id);
    v.members = {member(1, "v1"), member(2, "v2"), member(3, "v3"), member(4, "m4")};
    v.leader = member_id(1);
    v.fencing_token = view_id(1);
    v.joined = {member_id(4)};
    return v;
}

void envelopes() {
    // Every body the protocol has, on every socket: a socket that does not expect a body must
    // still take it without harm.
    std::size_t i = 0;
    for (auto e : wire::testing::sample_envelopes()) {
        e.cluster = "roster";
        const auto name = "sample-" + std::to_string(i++);
        write("envelope_listen", name, wire::encode(e));
        write("envelope_publish", name, wire::encode(e));
        write("envelope_voter_reply", name, wire::encode(e));
        e.from = from_voter2;
        write("envelope_peer", name, wire::encode(e));
    }

    // The listen socket: members and clients.
    const std::string t = "envelope_listen";
    const bytes join_m4 =
        env(from_member,
            membership::join_request{
                1, "m4", "127.0.0.1:7500", "127.0.0.1:7502", incarnation_number(1), {{"zone", "a"}}});
    write(t, "join", join_m4);
    write(t, "status", env(from_client, wire::status_request{7}));
    write(t, "sync-full", env(from_member, views::sync_request{2, view_id(), true}));
    write(t, "sync-after", env(from_member, views::sync_request{3, view_id(1), false}));
    write(
        t, "wrong-cluster",
        wire::encode(wire::envelope{wire::protocol_version, "other", from_client, wire::status_request{1}}));
    // The voter (member 1 of its view) gives a joined member id 2.
    write(t, "join-heartbeat-leave",
          joined({join_m4,
                  env(from_member, membership::heartbeat{member_id(2), incarnation_number(1), 1, view_id(2)}),
                  env(from_member, membership::leave_request{2, member_id(2), incarnation_number(1)})}));
    // Operator removals (plaintext: anyone may; the secured variant refuses a non-admin key).
    write(t, "join-remove-by-name",
          joined({join_m4, env(from_client, membership::remove_request{5, member_id(), "m4"})}));
    write(t, "join-remove-by-id",
          joined({join_m4, env(from_client, membership::remove_request{6, member_id(2), ""})}));
    write(t, "join-twice-sync",
          joined({join_m4, join_m4, env(from_member, views::sync_request{4, view_id(1), false})}));

    // The peer socket: voters 2 and 3 to voter 1.
    const std::string p = "envelope_peer";
    const bytes command = wire::encode_command({{join("v2"), join("a")}});
    consensus::append_request append{raft_term(2), log_index(), raft_term(), {}, log_index()};
    append.entries = {{log_index(1), raft_term(2), consensus::entry_kind::noop, {}},
                      {log_index(2), raft_term(2), consensus::entry_kind::normal, command}};
    consensus::append_request commit{raft_term(2), log_index(2), raft_term(2), {}, log_index(2)};
    const bytes snap = wire::encode_snapshot(realistic_snapshot());
    write(p, "vote",
          env(from_voter2, consensus::vote_request{raft_term(2), log_index(), raft_term(), false}));
    write(p, "pre-vote",
          env(from_voter3, consensus::vote_request{raft_term(1), log_index(), raft_term(), true}));
    write(p, "append", env(from_voter2, append));
    write(p, "append-commit", joined({env(from_voter2, append), env(from_voter2, commit)}));
    write(p, "snapshot-then-append",
          joined(
              {env(from_voter2, consensus::snapshot_request{raft_term(3), log_index(10), raft_term(3), snap}),
               env(from_voter2, consensus::append_request{
                                    raft_term(3),
                                    log_index(10),
                                    raft_term(3),
                                    {{log_index(11), raft_term(3), consensus::entry_kind::normal, command}},
                                    log_index(11)})}));
    write(p, "vote-then-append",
          joined({env(from_voter3, consensus::vote_request{raft_term(2), log_index(), raft_term(), false}),
                  env(from_voter3, append)}));
    write(p, "forwarded-join",
          env(from_voter2, membership::join_request{
                               5, "m9", "127.0.0.1:7600", "127.0.0.1:7602", incarnation_number(2), {}}));
    write(p, "suspicion",
          env(from_voter2,
              membership::suspicion_report{true, {{member_id(2), incarnation_number(1), 12.5, true}}, {{member_id(3), incarnation_number(1), 4.5, false}}}));
    write(p, "voter-heartbeat",
          env(from_voter3, membership::heartbeat{member_id(3), incarnation_number(1), 1, view_id(1)}));

    // The publish stream a member subscribes to.
    const std::string s = "envelope_publish";
    const views::view_change next{view_id(6),
                                  {member(5, "m5")},
                                  {{member_id(4), views::removal_reason::left}},
                                  member_id(1),
                                  view_id(1)};
    write(s, "full-view", env(from_voter2, views::full_view{view_of(5)}));
    write(s, "full-then-change",
          joined({env(from_voter2, views::full_view{view_of(5)}), env(from_voter2, next)}));
    write(s, "change-gap", joined({env(from_voter2, views::full_view{view_of(3)}), env(from_voter2, next)}));
    write(s, "node-event",
          env(from_member, views::node_event{views::node_event::kind::rejoined, member_id(4), member_id(9),
                                             view_id(7), views::removal_reason::suspected}));

    // Replies on a member's connections to the voters (its join is request 1).
    const std::string r = "envelope_voter_reply";
    const bytes joined_ok =
        env(from_voter2, membership::join_reply{1, membership::request_status::ok, member_id(4),
                                                incarnation_number(1), view_id(5), "127.0.0.1:7410", ""});
    write(r, "join-ok", joined_ok);
    write(r, "join-not-leader",
          env(from_voter2,
              membership::join_reply{1, membership::request_status::not_leader, member_id(),
                                     incarnation_number(1), view_id(), "127.0.0.1:7420", "not leader"}));
    write(r, "join-ok-then-removed",
          joined({joined_ok, env(from_voter2, membership::heartbeat_reply{member_id(4), incarnation_number(1),
                                                                          membership::member_status::removed,
                                                                          view_id(9)})}));
    write(r, "join-ok-then-sync",
          joined({joined_ok,
                  env(from_voter3,
                      views::sync_reply{
                          1,
                          view_id(6),
                          {views::view_change{view_id(6), {member(5, "m5")}, {}, member_id(1), view_id(1)}},
                          view_of(5)})}));
    write(r, "leave-reply",
          env(from_voter2, membership::leave_reply{2, membership::request_status::ok, view_id(8), ""}));
}

void log_payloads() {
    const std::string c = "log_command";
    write(c, "sample", wire::encode_command(wire::testing::sample_command()));
    write(c, "join", wire::encode_command({{join("d")}}));
    write(c, "join-tags-key",
          wire::encode_command({{membership::join_op{"e",
                                                     "127.0.0.1:7600",
                                                     "127.0.0.1:7602",
                                                     incarnation_number(3),
                                                     {{"zone", "b"}, {"rack", "7"}},
                                                     std::string(32, 'k')}}}));
    write(c, "leave", wire::encode_command({{membership::leave_op{member_id(2), incarnation_number(1)}}}));
    write(c, "remove",
          wire::encode_command({{membership::remove_op{member_id(3), incarnation_number(1),
                                                       views::removal_reason::replaced}}}));
    write(c, "rejoin-newer", wire::encode_command({{join("a", 2)}}));
    write(c, "empty", wire::encode_command({}));
    write(c, "sequence",
          joined({wire::encode_command({{join("d")}}),
                  wire::encode_command({{membership::remove_op{member_id(4), incarnation_number(1),
                                                               views::removal_reason::suspected}}}),
                  wire::encode_command(
                      {{join("d", 2), membership::leave_op{member_id(1), incarnation_number(1)}}})}));

    const std::string s = "snapshot";
    write(s, "sample", wire::encode_snapshot(wire::testing::sample_snapshot()));
    write(s, "realistic", wire::encode_snapshot(realistic_snapshot()));
    write(s, "empty", wire::encode_snapshot(membership::membership_state().snapshot()));
    write(s, "realistic-then-commands",
          joined({wire::encode_snapshot(realistic_snapshot()), wire::encode_command({{join("c")}}),
                  wire::encode_command({{membership::leave_op{member_id(4), incarnation_number(1)}}})}));
}

void options() {
    const std::string t = "options";
    write_text(t, "voter",
               "--voter-id\n1\n--voters\n1@127.0.0.1:7401,2@127.0.0.1:7411,3@127.0.0.1:7421\n"
               "--data-dir\n/tmp/roster-fuzz-nonexistent\n--name\nv1");
    write_text(t, "member",
               "--join\n1@127.0.0.1:7400,2@127.0.0.1:7410,3@127.0.0.1:7420\n--listen\n127.0.0.1:7500\n"
               "--publish=127.0.0.1:7502\n--heartbeat-interval-ms=50\n--phi-threshold\n6.5");
    write_text(t, "member-no-ids",
               "--join\n127.0.0.1:7400,127.0.0.1:7410\n--log-format\njson\n--log-level\ndebug");
    write_text(t, "dev", "--dev\n--peer-listen\n127.0.0.1:7401\n--max-members\n50");
    write_text(t, "tuning",
               "--dev\n--join-settle-ms\n0\n--removal-settle-ms\n100\n--metrics-threads\n4\n"
               "--metrics-request-timeout-ms\n200\n--metrics-member-limit\n10\n--cluster\nprod");
    write_text(t, "insecure", "--join\n10.0.0.1:7400\n--listen\n0.0.0.0:7500\n--insecure");
    write_text(t, "secured-without-key",
               "--join\n1@10.0.0.1:7400\n--voter-keys\n1=abc\n--authorized-keys\nkeys.txt");
    write_text(t, "help", "--help");
    write_text(t, "version", "--version");
    write_text(t, "both-roles", "--voter-id\n1\n--voters\n1@127.0.0.1:7401\n--join\n127.0.0.1:7400");
    const std::string voter_toml =
        "voter-id = 2\nvoters = \"1@127.0.0.1:7401,2@127.0.0.1:7411,3@127.0.0.1:7421\"\n"
        "data-dir = \"/tmp/roster-fuzz-nonexistent\"\nname = \"v2\"\n"
        "heartbeat-interval-ms = 100\nlog-format = \"text\"\n";
    const std::string member_toml = "# a member\njoin = \"1@127.0.0.1:7400,2@127.0.0.1:7410\"\n"
                                    "[default]\nphi-threshold = 9.0\ndev = false\ninsecure = true\n";
    write(t, "voter-toml", joined({bytes(), bytes(voter_toml.begin(), voter_toml.end())}));
    const std::string flags = "--cluster\nprod";
    write(t, "member-toml-and-flags",
          joined({bytes(flags.begin(), flags.end()), bytes(member_toml.begin(), member_toml.end())}));
}

// A data file written by the real storage: its bytes, and the script that builds it.
void data_files() {
    namespace s = fuzz::storage_script;
    const bytes command = wire::encode_command({{join("v1"), join("a")}});
    const bytes snap = wire::encode_snapshot(realistic_snapshot());
    const consensus::entry noop{log_index(1), raft_term(1), consensus::entry_kind::noop, {}};
    const consensus::entry cmd{log_index(2), raft_term(1), consensus::entry_kind::normal, command};
    const consensus::entry after_snap{log_index(11), raft_term(3), consensus::entry_kind::normal, command};

    struct seed {
        const char* name;
        s::writer script;
    };
    std::vector<seed> seeds;
    seeds.push_back({"empty", s::writer()});
    seeds.push_back(
        {"log", s::writer().entry(noop).entry(cmd).hard({raft_term(1), voter_id(1), log_index(2)})});
    seeds.push_back({"snapshot-and-log", s::writer()
                                             .snapshot({log_index(10), raft_term(3)}, true, snap)
                                             .entry(after_snap)
                                             .hard({raft_term(3), voter_id(1), log_index(11)})});
    seeds.push_back({"uncommitted-tail",
                     s::writer().entry(noop).entry(cmd).hard({raft_term(2), voter_id(2), log_index(1)})});
    // Damage through SQL, each a refusal the storage has a message for.
    seeds.push_back({"bad-crc", s::writer().entry(noop).entry(cmd).sql(
                                    "UPDATE entries SET crc = crc + 1 WHERE idx = 2;")});
    seeds.push_back(
        {"commit-past-log", s::writer().entry(noop).sql("UPDATE hard_state SET commit_index = 5;")});
    seeds.push_back(
        {"log-gap", s::writer().entry(noop).entry(cmd).sql("DELETE FROM entries WHERE idx = 1;")});
    seeds.push_back({"other-voter", s::writer().sql("UPDATE meta SET value = '2' WHERE key = 'voter_id';")});
    seeds.push_back({"term-too-large", s::writer().sql("UPDATE hard_state SET term = 4611686018427387905;")});
    seeds.push_back({"undecodable-entry",
                     s::writer()
                         .entry(noop)
                         .entry({log_index(2), raft_term(1), consensus::entry_kind::normal, {1, 2, 3}})
                         .hard({raft_term(1), voter_id(1), log_index(2)})});

    const fs::path dir = fuzz::scratch_dir();
    for (const auto& sd : seeds) {
        write("sqlite_storage", std::string("script-") + sd.name, sd.script.out());
    }
    // The bytes of three of them, as the storage leaves its file.
    for (const char* name : {"empty", "log", "snapshot-and-log"}) {
        const fs::path file = dir / (std::string(name) + ".db");
        const auto& script = std::find_if(seeds.begin(), seeds.end(), [&](const seed& x) {
                                 return std::string(x.name) == name;
                             })->script;
        {
            auto opened = consensus::sqlite_storage::open(file, {"roster", voter_id(1)});
            if (!opened) {
                std::fprintf(stderr, "make_corpus: %s\n", opened.error().message.c_str());
                std::exit(1);
            }
            if (auto err = s::save(*opened.value(), s::read_script(script.out()))) {
                std::fprintf(stderr, "make_corpus: %s\n", err->message.c_str());
                std::exit(1);
            }
        }
        std::ifstream in(file, std::ios::binary);
        write("sqlite_storage", std::string("file-") + name,
              bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_corpus DIR\n");
        return 2;
    }
    out_dir = argv[1];
    envelopes();
    log_payloads();
    options();
    data_files();
    std::printf("make_corpus: wrote %d files under %s\n", written, out_dir.c_str());
    return 0;
}
