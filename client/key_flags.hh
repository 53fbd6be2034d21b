#pragma once

// The flags with which a client program (rosterctl, the examples) reaches a secured cluster
// (docs/security.md): one set of names, meanings and environment variables, so that a shell that
// has set ROSTER_KEY_FILE and ROSTER_VOTER_KEYS runs every client as it is.
//
//   --key-file PATH    this client's secret key (from `rosterctl keygen PATH`)
//   --voter-keys 1=PUB,2=PUB,3=PUB
//                      the voters' public keys; a voter's endpoint is then ID@HOST:PORT
//   --server-key PUB   the public key of the node at a HOST:PORT endpoint: a member's (its key
//                      file's .pub, or "key" in `rosterctl members --json`)
//
// Without --key-file the client speaks plaintext, which a secured node refuses (and says so).
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "auth/key_table.hh"
#include "auth/keys.hh"
#include "client/client.hh"

namespace roster::client {

struct key_flags {
    std::string key_file;
    std::string voter_keys;
    std::string server_key;

    void add_to(CLI::App& app) {
        app.add_option("--key-file", key_file, "this client's CURVE secret key, for a secured cluster")
            ->envname("ROSTER_KEY_FILE");
        app.add_option("--voter-keys", voter_keys,
                       "the voters' public keys, 1=PUB,2=PUB,3=PUB; give voter endpoints as ID@HOST:PORT")
            ->envname("ROSTER_VOTER_KEYS");
        app.add_option("--server-key", server_key,
                       "the public key of the node at a HOST:PORT endpoint: a member's (its key file's .pub, "
                       "or \"key\" in `rosterctl members --json`)");
    }

    // Fills the keys of `o` (whose endpoints are set) and checks them with client::check; the
    // error names the flag.
    [[nodiscard]] std::optional<std::string> apply(options& o) const {
        if (!key_file.empty()) {
            auto k = auth::load_key_file(key_file);
            if (!k) {
                return "--key-file " + k.error();
            }
            o.key = k.value();
        }
        if (!voter_keys.empty()) {
            auto k = auth::key_table::parse_voter_keys(voter_keys);
            if (!k) {
                return "--voter-keys: " + k.error();
            }
            o.voter_keys = k.value();
        }
        if (!server_key.empty()) {
            auto k = auth::curve_key::from_z85(server_key);
            if (!k) {
                return "--server-key: " + k.error();
            }
            o.server_key = k.value();
        }
        return check(o);
    }
};

} // namespace roster::client
