// The live page of a roster node. Plain JavaScript, no framework, no build step, nothing from
// another site. It reads the node's read-only HTTP API (docs/http.md):
//   - views from the Server-Sent Events of /v1/watch (resumed with Last-Event-ID, or ?after=N when
//     the page opens a new stream itself); a "resync": true event replaces everything;
//   - /v1/status and /v1/detector every poll_ms (default 1000, ?poll_ms=250 overrides, min 100);
//   - /v1/members and /v1/views?after=N while the stream is down but the node answers.
// Every string from the API reaches the page through textContent, never as HTML.
"use strict";

(() => {
    const params = new URLSearchParams(window.location.search);
    const pollMs = Math.max(100, Number.parseInt(params.get("poll_ms") || "", 10) || 1000);
    const unreachableAfterMs = 3 * pollMs; // no answer for this long: unreachable
    const maxTimeline = 50;
    const maxNames = 20000; // names remembered for the removed members of the timeline
    const tickMs = 100; // the age cells count up between detector answers
    const tickRowLimit = 2000; // above this many members the ages change only with each answer

    const $ = (id) => document.getElementById(id);
    const ui = {
        conn: $("conn"),
        connText: $("conn-text"),
        banner: $("banner"),
        bannerText: $("banner-text"),
        nodeName: $("node-name"),
        nodeRole: $("node-role"),
        viewId: $("view-id"),
        leader: $("leader"),
        health: $("health"),
        members: document.querySelector("#members tbody"),
        memberCount: $("member-count"),
        membersEmpty: $("members-empty"),
        threshold: $("threshold"),
        detectorNote: $("detector-note"),
        viewNote: $("view-note"),
        voters: document.querySelector("#voters tbody"),
        selfLegend: $("self-legend"),
        timeline: $("timeline"),
        timelineEmpty: $("timeline-empty"),
        updated: $("updated"),
        pollInfo: $("poll-info"),
    };

    const state = {
        view: null, // the newest view applied (the API's JSON)
        rows: new Map(), // member id -> its <tr> and cells
        names: new Map(), // member id -> name, for the removed members of the timeline
        status: null, // the last /v1/status answer
        detector: null, // the last /v1/detector answer
        detectorAt: 0, // performance.now() when it arrived
        detectorMissing: false, // /v1/detector answered 404: the node is a member
        detectorCheckedAt: 0, // when a member's 404 was last checked again
        es: null, // the EventSource on /v1/watch
        esOpen: false,
        esOpenedAt: 0, // when the current EventSource was created
        esDownSince: 0, // since when it is not open (its creation, or its first error after open)
        lastAnswer: 0, // performance.now() of the last answer of the node (any HTTP status, or an event)
        lastAnswerDate: null, // the same as a Date, for the banner
        lastPollFailed: false, // the last poll got no answer (network error or timeout)
        unreachable: false,
        downSince: null, // Date: the first failed attempt after the last answer
        everAnswered: false,
    };

    // ---- small helpers --------------------------------------------------------------------------

    function el(tag, className, text) {
        const e = document.createElement(tag);
        if (className) {
            e.className = className;
        }
        if (text !== undefined && text !== null) {
            e.textContent = String(text);
        }
        return e;
    }

    function setText(node, text) {
        const t = String(text);
        if (node.textContent !== t) {
            node.textContent = t;
        }
    }

    function pad2(n) {
        return n < 10 ? "0" + n : String(n);
    }

    function clock(date) {
        return pad2(date.getHours()) + ":" + pad2(date.getMinutes()) + ":" + pad2(date.getSeconds());
    }

    function isCount(n) {
        return typeof n === "number" && Number.isFinite(n) && n >= 0;
    }

    function formatDuration(ms) {
        if (!isCount(ms)) {
            return "—";
        }
        if (ms < 1000) {
            return Math.round(ms) + " ms";
        }
        if (ms < 10000) {
            return (ms / 1000).toFixed(2) + " s";
        }
        if (ms < 60000) {
            return (ms / 1000).toFixed(1) + " s";
        }
        const s = Math.floor(ms / 1000);
        if (s < 3600) {
            return Math.floor(s / 60) + " m " + pad2(s % 60) + " s";
        }
        return Math.floor(s / 3600) + " h " + pad2(Math.floor((s % 3600) / 60)) + " m";
    }

    function formatPhi(phi) {
        if (typeof phi !== "number" || Number.isNaN(phi)) {
            return "—";
        }
        if (phi >= 1000 || !Number.isFinite(phi)) {
            return "≥ 1000";
        }
        return phi < 10 ? phi.toFixed(2) : phi.toFixed(1);
    }

    function num(n) {
        return typeof n === "number" && Number.isFinite(n) ? String(n) : "—";
    }

    function memberLabel(id) {
        const name = state.names.get(id);
        return name === undefined ? "member " + id : name;
    }

    // ---- the members table ----------------------------------------------------------------------

    function makeRow(id) {
        const tr = el("tr");
        tr.dataset.memberId = String(id);
        tr.dataset.state = "unknown";
        const cells = {};
        for (const name of ["id", "name", "address", "tags", "incarnation", "age", "phi"]) {
            cells[name] = el("td", name);
            tr.appendChild(cells[name]);
        }
        cells.id.textContent = String(id);
        const meter = el("span", "meter");
        meter.setAttribute("aria-hidden", "true");
        const bar = el("span", "bar");
        meter.appendChild(bar);
        const value = el("span", "phi-value", "—");
        cells.phi.appendChild(meter);
        cells.phi.appendChild(value);
        cells.age.textContent = "—";
        return {tr, cells, bar, value, key: "", age: null};
    }

    function fillMember(row, m) {
        // Only what changed is written: a view of many members rewrites few cells.
        const tags = m.tags && typeof m.tags === "object" ? Object.entries(m.tags) : [];
        tags.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
        const key = JSON.stringify([m.name, m.address, m.incarnation, tags, m.voter_id]);
        if (row.key === key) {
            return;
        }
        row.key = key;
        const name = row.cells.name;
        name.replaceChildren(el("span", "member-name", m.name));
        if (isCount(m.voter_id) && m.voter_id > 0) {
            const chip = el("span", "chip chip-voter", "voter " + m.voter_id);
            chip.title = "this member entry is voter " + m.voter_id;
            name.appendChild(chip);
        }
        setText(row.cells.address, m.address);
        const tagCell = row.cells.tags;
        tagCell.replaceChildren();
        for (const [k, v] of tags) {
            tagCell.appendChild(el("span", "tag", v === "" ? k : k + "=" + v));
        }
        setText(row.cells.incarnation, num(m.incarnation));
    }

    function renderMembers(view) {
        const seen = new Set();
        let previous = null;
        for (const m of view.members) {
            if (!isCount(m.id) || seen.has(m.id)) {
                continue;
            }
            seen.add(m.id);
            let row = state.rows.get(m.id);
            if (!row) {
                row = makeRow(m.id);
                state.rows.set(m.id, row);
            }
            fillMember(row, m);
            // Keep the view's order (member id) with as few moves as possible.
            const wanted = previous ? previous.nextSibling : ui.members.firstChild;
            if (wanted !== row.tr) {
                ui.members.insertBefore(row.tr, wanted);
            }
            previous = row.tr;
        }
        for (const [id, row] of state.rows) {
            if (!seen.has(id)) {
                row.tr.remove();
                state.rows.delete(id);
            }
        }
        setText(ui.memberCount, String(seen.size));
        ui.membersEmpty.hidden = true;
        renderDetector();
    }

    function threshold() {
        const d = state.detector;
        if (d && typeof d.phi_threshold === "number" && d.phi_threshold > 0) {
            return d.phi_threshold;
        }
        const s = state.status;
        if (s && typeof s.phi_threshold === "number" && s.phi_threshold > 0) {
            return s.phi_threshold;
        }
        return 8;
    }

    // warn (amber): phi >= threshold / 2; bad (red): phi >= 0.8 x threshold, or suspected.
    function phiState(entry, limit) {
        if (!entry || typeof entry.phi !== "number") {
            return "unknown";
        }
        if (entry.suspected === true || entry.phi >= 0.8 * limit) {
            return "bad";
        }
        if (entry.phi >= limit / 2) {
            return "warn";
        }
        return "ok";
    }

    function renderDetector() {
        const limit = threshold();
        setText(ui.threshold, Number.isInteger(limit) ? String(limit) : limit.toFixed(1));
        const entries = new Map();
        const d = state.detector;
        if (d && Array.isArray(d.members) && !state.detectorMissing) {
            for (const e of d.members) {
                if (e && isCount(e.id)) {
                    entries.set(e.id, e);
                }
            }
        }
        for (const [id, row] of state.rows) {
            const e = entries.get(id);
            const s = phiState(e, limit);
            if (row.tr.dataset.state !== s) {
                row.tr.dataset.state = s;
            }
            if (!e) {
                // No data: the node is a member, or this row is the node itself (a voter does not
                // watch its own heartbeats), or the member is too new for the last answer.
                const self = !state.detectorMissing && state.status && state.status.member_id === id;
                row.age = null;
                setText(row.cells.age, self ? "this node" : "—");
                setText(row.value, "—");
                row.bar.style.width = "0%";
                row.cells.phi.title = state.detectorMissing ? "the detector runs on voters"
                    : self ? "this node does not watch its own heartbeats" : "no detector data";
                continue;
            }
            row.age = isCount(e.heartbeat_age_ms) ? e.heartbeat_age_ms : null;
            setText(row.cells.age, row.age === null ? "never heard" : formatDuration(row.age));
            setText(row.value, formatPhi(e.phi));
            const ratio = Math.max(0, Math.min(1, e.phi / limit));
            row.bar.style.width = (ratio * 100).toFixed(1) + "%";
            row.cells.phi.title =
                "phi " + formatPhi(e.phi) + " of " + formatPhi(limit) +
                (isCount(e.interval_mean_ms) ? "; interval " + e.interval_mean_ms.toFixed(1) + " ms" : "") +
                (isCount(e.interval_stddev_ms) ? " ± " + e.interval_stddev_ms.toFixed(1) + " ms" : "") +
                (isCount(e.samples) ? "; " + e.samples + " samples" : "") +
                (e.suspected ? "; suspected by this voter" : "");
        }
        ui.detectorNote.hidden = !state.detectorMissing;
        document.body.classList.toggle("no-detector", state.detectorMissing);
    }

    // Between two detector answers the age of a member that is late (no heartbeat for two
    // intervals) counts up from the last answer: its next heartbeat is overdue, so the age only
    // grows until the next answer says otherwise. A member on time keeps the age the voter gave
    // (counting it up would draw a sawtooth of the poll interval, not of the heartbeats). Not while
    // unreachable: then nothing is known.
    function tickAges() {
        const d = state.detector;
        if (!d || state.detectorMissing || state.unreachable || state.rows.size > tickRowLimit) {
            return;
        }
        const interval = isCount(d.heartbeat_interval_ms) && d.heartbeat_interval_ms > 0 ? d.heartbeat_interval_ms : 100;
        const since = performance.now() - state.detectorAt;
        for (const row of state.rows.values()) {
            if (row.age !== null && row.age >= 2 * interval) {
                setText(row.cells.age, formatDuration(row.age + since));
            }
        }
    }

    // ---- header: view, leader ---------------------------------------------------------------------

    function renderHeader(view) {
        setText(ui.viewId, String(view.view_id));
        document.body.dataset.viewId = String(view.view_id);
        const l = view.leader;
        if (l && isCount(l.id)) {
            ui.leader.replaceChildren(
                el("span", "leader-name", l.name),
                el("span", "muted num", " #" + l.id),
                el("span", "token", "fencing token "),
            );
            ui.leader.lastChild.appendChild(el("span", "num", num(l.fencing_token)));
        } else {
            ui.leader.replaceChildren(el("span", "muted", "no member leader"));
        }
        document.title = "roster · view " + view.view_id + (state.status ? " · " + state.status.name : "");
    }

    // ---- the timeline -----------------------------------------------------------------------------

    const reasons = {
        suspected: "suspected by the voters",
        left: "left",
        replaced: "replaced (restarted under a new id)",
        removed_by_operator: "removed by the operator",
    };

    function timelineEntry(view, previous, resync) {
        const li = el("li", "event");
        li.dataset.viewId = String(view.view_id);
        const head = el("div", "event-head");
        head.appendChild(el("span", "event-view", "view " + view.view_id));
        const time = el("time", "event-time", clock(new Date()));
        time.dateTime = new Date().toISOString();
        head.appendChild(time);
        li.appendChild(head);
        const list = el("ul", "changes");
        if (resync) {
            li.classList.add("resync");
            list.appendChild(el("li", "change-info",
                (previous ? "full view (resync)" : "full view") + " · " + view.members.length + " members"));
        }
        const byId = new Map(view.members.map((m) => [m.id, m]));
        for (const id of Array.isArray(view.joined) ? view.joined : []) {
            const m = byId.get(id);
            const item = el("li", "change-joined");
            item.appendChild(el("span", "sign", "+"));
            item.appendChild(el("span", "who", m ? m.name : memberLabel(id)));
            item.appendChild(el("span", "muted num", " #" + id));
            item.appendChild(el("span", "what", " joined"));
            list.appendChild(item);
        }
        for (const r of Array.isArray(view.removed) ? view.removed : []) {
            if (!r || !isCount(r.id)) {
                continue;
            }
            const item = el("li", "change-removed");
            item.appendChild(el("span", "sign", "−"));
            item.appendChild(el("span", "who", memberLabel(r.id)));
            item.appendChild(el("span", "muted num", " #" + r.id));
            item.appendChild(el("span", "what", " " + (reasons[r.reason] || String(r.reason))));
            list.appendChild(item);
        }
        const before = previous && previous.leader ? previous.leader : null;
        const after = view.leader;
        if (previous && (before ? before.id : null) !== (after ? after.id : null)) {
            const item = el("li", "change-leader");
            item.appendChild(el("span", "sign", "★"));
            item.appendChild(el("span", "what",
                after ? "member leader " + after.name + " #" + after.id + ", fencing token " + after.fencing_token
                      : "no member leader"));
            list.appendChild(item);
        }
        if (!list.firstChild) {
            list.appendChild(el("li", "change-info", "no membership change"));
        }
        li.appendChild(list);
        ui.timeline.insertBefore(li, ui.timeline.firstChild);
        while (ui.timeline.children.length > maxTimeline) {
            ui.timeline.lastChild.remove();
        }
        ui.timelineEmpty.hidden = true;
    }

    // ---- applying views ----------------------------------------------------------------------------

    function validView(v) {
        return v && typeof v === "object" && isCount(v.view_id) && Array.isArray(v.members);
    }

    function rememberNames(view) {
        if (state.names.size > maxNames) {
            state.names.clear();
        }
        for (const m of view.members) {
            if (m && isCount(m.id) && typeof m.name === "string") {
                state.names.set(m.id, m.name);
            }
        }
    }

    // One delivery of /v1/watch or /v1/views (or the view of /v1/members, as a resync).
    function applyView(v, resync) {
        if (!validView(v)) {
            console.warn("roster: ignoring a view that is not one", v);
            return;
        }
        const previous = state.view;
        if (!resync && previous && v.view_id <= previous.view_id) {
            return; // already applied (a resumed stream may repeat one)
        }
        let keptTimeline = [];
        if (resync) {
            // The node could not give the changes since the last view: start over from this one.
            if (previous && previous.view_id === v.view_id && ui.timeline.firstChild) {
                keptTimeline = [ui.timeline.firstChild];
            }
            ui.timeline.replaceChildren();
            for (const row of state.rows.values()) {
                row.tr.remove();
            }
            state.rows.clear();
        }
        state.view = v;
        if (resync && previous && previous.view_id === v.view_id && keptTimeline.length) {
            // The same view again (the stream opened after a poll fetched it): keep its entry.
            ui.timeline.replaceChildren(...keptTimeline);
        } else {
            timelineEntry(v, previous, resync);
        }
        rememberNames(v);
        ui.viewNote.hidden = true;
        // A burst of views (a resumed stream, one answer of /v1/views) draws the table once.
        if (!renderPending) {
            renderPending = true;
            setTimeout(() => {
                renderPending = false;
                renderHeader(state.view);
                renderMembers(state.view);
            }, 0);
        }
    }

    let renderPending = false;

    // ---- the event stream ---------------------------------------------------------------------------

    function openWatch() {
        if (state.es) {
            state.es.close();
        }
        const after = state.view ? "?after=" + state.view.view_id : "";
        const es = new EventSource("/v1/watch" + after);
        state.es = es;
        state.esOpen = false;
        state.esOpenedAt = performance.now();
        state.esDownSince = state.esOpenedAt;
        es.addEventListener("open", () => {
            if (state.es !== es) {
                return;
            }
            state.esOpen = true;
            answered();
        });
        es.addEventListener("view", (event) => {
            if (state.es !== es) {
                return;
            }
            answered();
            let v;
            try {
                v = JSON.parse(event.data);
            } catch (e) {
                console.warn("roster: an event of /v1/watch is not JSON", e);
                return;
            }
            applyView(v, v && v.resync === true);
        });
        es.addEventListener("error", () => {
            if (state.es !== es) {
                return;
            }
            // CONNECTING: the browser retries by itself, with Last-Event-ID. CLOSED (an error status
            // such as 503 for too many streams, or 401): the polls open a new one later.
            if (state.esOpen) {
                state.esDownSince = performance.now();
            }
            state.esOpen = false;
            evaluate();
        });
    }

    // The stream is reopened (with ?after=N) when it was closed for good 5 s ago (an error status:
    // 503 for too many streams asks for Retry-After: 5), right after the node came back (faster
    // than the browser's own retry), or when the browser's retries did not open it for 5 s while
    // the node answers the polls.
    function ensureWatch(cameBack) {
        const es = state.es;
        const down = performance.now() - state.esDownSince;
        if (!es || (es.readyState === EventSource.CLOSED && down >= 5000) ||
            (es.readyState === EventSource.CONNECTING && (cameBack || down >= 5000))) {
            openWatch();
        }
    }

    // ---- polling -------------------------------------------------------------------------------------

    // {status, body} for any HTTP answer; null when the node did not answer (network error, timeout).
    async function getJson(path) {
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), unreachableAfterMs);
        try {
            const response = await fetch(path, {
                signal: controller.signal,
                cache: "no-store",
                headers: {"Accept": "application/json"},
            });
            let body = null;
            try {
                body = await response.json();
            } catch (e) {
                body = null;
            }
            return {status: response.status, body};
        } catch (e) {
            return null;
        } finally {
            clearTimeout(timer);
        }
    }

    function errorText(answer, what) {
        const reason = answer.body && typeof answer.body.error === "string" ? answer.body.error : "";
        return what + " answered HTTP " + answer.status + (reason ? ": " + reason : "");
    }

    function applyStatus(s) {
        if (!s || typeof s !== "object") {
            return;
        }
        state.status = s;
        setText(ui.nodeName, typeof s.name === "string" && s.name !== "" ? s.name : "(unnamed)");
        const role = typeof s.role === "string" ? s.role : "unknown";
        let roleText = role;
        if (isCount(s.voter_id) && s.voter_id > 0) {
            roleText += " · voter " + s.voter_id;
        } else if (isCount(s.member_id) && s.member_id > 0) {
            roleText += " · id " + s.member_id;
        }
        setText(ui.nodeRole, roleText);
        ui.nodeRole.dataset.role = role;
        const health = [];
        health.push(s.healthy === false ? "unhealthy" + (s.health_reason ? ": " + s.health_reason : "") : "healthy");
        health.push(s.ready === false ? "not ready" + (s.ready_reason ? ": " + s.ready_reason : "") : "ready");
        setText(ui.health, health.join(" · "));
        ui.health.className = s.healthy === false || s.ready === false ? "bad-text" : "ok-text";
        renderVoters(Array.isArray(s.voters) ? s.voters : []);
        if (state.view) {
            document.title = "roster · view " + state.view.view_id + " · " + s.name;
        }
    }

    function renderVoters(voters) {
        const rows = [];
        for (const v of voters) {
            if (!v || !isCount(v.voter_id)) {
                continue;
            }
            const role = typeof v.role === "string" ? v.role : "unknown";
            const tr = el("tr");
            tr.dataset.voterId = String(v.voter_id);
            tr.dataset.role = role;
            if (v.self === true) {
                tr.classList.add("self");
            }
            const who = el("td", "voter");
            if (v.self === true) {
                const mark = el("span", "self-mark", "●");
                mark.title = "this node";
                who.appendChild(mark);
                who.appendChild(el("span", "sr-only", "this node: "));
            }
            if (typeof v.name === "string") {
                who.appendChild(el("span", "voter-name", v.name));
                who.appendChild(el("span", "muted num", " #" + v.voter_id));
            } else {
                who.appendChild(el("span", "voter-name", "voter " + v.voter_id));
            }
            tr.appendChild(who);
            const roleCell = el("td");
            const badge = el("span", "role", role.replace("_", "-"));
            badge.dataset.role = role;
            roleCell.appendChild(badge);
            tr.appendChild(roleCell);
            tr.appendChild(el("td", "numcol", num(v.term)));
            tr.appendChild(el("td", "numcol", num(v.commit_index)));
            tr.appendChild(el("td", "numcol", num(v.match_index)));
            tr.appendChild(el("td", "numcol", v.self === true ? "—" : isCount(v.heard_ms_ago) ? formatDuration(v.heard_ms_ago) : "—"));
            rows.push(tr);
        }
        ui.voters.replaceChildren(...rows);
        ui.selfLegend.hidden = !voters.some((v) => v && v.self === true);
    }

    // One round of polls; the next one starts poll_ms after this one started, also when drawing
    // an answer failed (an answer of an unexpected shape must not stop the page).
    async function poll() {
        const started = performance.now();
        try {
            await pollOnce(started);
        } catch (e) {
            console.error("roster: a poll failed", e);
        }
        setTimeout(poll, Math.max(0, pollMs - (performance.now() - started)));
    }

    async function pollOnce(started) {
        const wantDetector = !state.detectorMissing || started - state.detectorCheckedAt >= 30000;
        // The views come from the stream; while it is down (or refused), from /v1/views.
        const wantViews = !state.esOpen && started - state.esDownSince >= pollMs;
        const [status, detector, views] = await Promise.all([
            getJson("/v1/status"),
            wantDetector ? getJson("/v1/detector") : Promise.resolve(undefined),
            wantViews ? getJson(state.view ? "/v1/views?after=" + state.view.view_id : "/v1/members")
                      : Promise.resolve(undefined),
        ]);
        const answers = [status, detector, views].filter((a) => a !== undefined);
        const anyAnswer = answers.some((a) => a !== null);
        const wasUnreachable = state.unreachable;
        state.lastPollFailed = !anyAnswer;
        if (anyAnswer) {
            answered();
        }
        if (status && status.status === 200) {
            applyStatus(status.body);
        }
        if (detector) {
            if (detector.status === 200 && detector.body && Array.isArray(detector.body.members)) {
                state.detector = detector.body;
                state.detectorAt = performance.now();
                state.detectorMissing = false;
            } else if (detector.status === 404) {
                state.detectorMissing = true;
                state.detectorCheckedAt = started;
                state.detector = null;
            }
            renderDetector();
        }
        if (views) {
            applyPolledViews(views);
        }
        evaluate();
        if (anyAnswer) {
            ensureWatch(wasUnreachable);
        }
    }

    function applyPolledViews(answer) {
        if (answer.status === 503 && !state.view) {
            ui.viewNote.hidden = false;
            setText(ui.viewNote, "The node has no committed view yet.");
            return;
        }
        if (answer.status !== 200 || !answer.body) {
            ui.viewNote.hidden = false;
            setText(ui.viewNote, errorText(answer, state.view ? "/v1/views" : "/v1/members"));
            return;
        }
        if (Array.isArray(answer.body.views)) {
            for (const v of answer.body.views) {
                applyView(v, v && v.resync === true);
            }
        } else {
            applyView(answer.body, true);
        }
    }

    // ---- reachable or not ----------------------------------------------------------------------------

    function answered() {
        state.lastAnswer = performance.now();
        state.lastAnswerDate = new Date();
        state.everAnswered = true;
        state.downSince = null;
    }

    // Unreachable: the stream is in error and the last poll got no answer, or nothing answered
    // for 3 poll intervals.
    function evaluate() {
        const now = performance.now();
        const silent = now - state.lastAnswer >= unreachableAfterMs;
        const unreachable = (!state.esOpen && state.lastPollFailed) || silent;
        if (unreachable && state.downSince === null) {
            state.downSince = state.lastAnswerDate || new Date();
        }
        state.unreachable = unreachable;
        const s = unreachable ? "unreachable" : state.everAnswered ? "live" : "connecting";
        if (ui.conn.dataset.state !== s) {
            ui.conn.dataset.state = s;
        }
        document.body.classList.toggle("stale", unreachable);
        if (unreachable) {
            const since = state.downSince;
            setText(ui.connText, "unreachable");
            setText(ui.bannerText,
                "The node at " + window.location.host + " has not answered since " + clock(since) +
                " (" + formatDuration(Date.now() - since.getTime()) + " ago). The tables show the last data received; " +
                "the page reconnects by itself when the node is back.");
            ui.banner.hidden = false;
        } else {
            setText(ui.connText, s === "live" ? (state.esOpen ? "live" : "live (polling)") : "connecting…");
            ui.banner.hidden = true;
        }
        if (state.lastAnswerDate) {
            setText(ui.updated, "last answer " + clock(state.lastAnswerDate));
        }
    }

    function start() {
        setText(ui.pollInfo, "polling every " + pollMs + " ms");
        state.lastAnswer = performance.now(); // the grace of 3 intervals starts with the page
        openWatch();
        poll();
        setInterval(tickAges, tickMs);
        setInterval(evaluate, 250);
    }

    start();
})();
