#!/usr/bin/env python3
"""Independent re-implementation of docs/devtools-rules.md, checked against the goldens.

    python3 tools/parity/check_spec.py [samples/nodeNN.heapsnapshot.gz ...]

For each sample it recomputes, from the raw snapshot and the written spec only (no DevTools
code), every column of tests/golden/<name>.json.gz and says which ones match. It exists to
prove the spec is complete enough to implement from; it is slow-ish (pure Python, about
a second per sample) and not part of the Rust test suite. Standard library only.

    python3 tools/parity/check_spec.py --ablate RULE [samples...]

--ablate turns one rule of the spec off (see ABLATIONS) and shows how many values then
differ from DevTools: a measure of what skipping that rule costs on real Node snapshots.

Exit status: 0 when every column of every sample matches, 1 otherwise.
"""

import gzip
import json
import math
import os
import re
import sys
import time

NO_DISTANCE = -5
BASE_SYSTEM_DISTANCE = 100_000_000
EPHEMERON_RE = re.compile(
    r"^\d+(?P<dup> / part of key \(.*? @\d+\) -> value \(.*? @\d+\) pair in WeakMap \(table @(?P<table>\d+)\))$",
    re.S,
)
FLAG_QUERY, FLAG_DETACHED, FLAG_PAGE = 1, 2, 4
ABLATIONS = {
    "page_owned": "keep edges from non-page-owned into page-owned nodes (essential-edge rule 4)",
    "weakmap_table": "keep the WeakMap table's ephemeron edge for dominators",
    "shortcut": "keep shortcut edges that do not start at the root",
    "shallow": "skip calculateShallowSizes (use raw self sizes)",
    "orphans": "do not hang nodes without essential retainers off the root",
    "user_roots": "distances: one BFS from the root at distance 0 (no user-root pass)",
    "weakmap_distance": "distances: no WeakMap pair filter",
    "sloppy": "distances: no sloppy_function_map filter",
    "interfaces": "no interface inference for plain Objects (class 'Object')",
    "detached": "no propagateDOMState (no 'Detached ' names)",
    "locations": "class keys without locations",
}
ABLATE = set()
UNKNOWN, ATTACHED, DETACHED = 0, 1, 2


# ---- JavaScript string semantics ------------------------------------------------------------
# V8 writes strings as \uXXXX escapes of 16-bit units; JS compares, sorts and measures strings
# in UTF-16 code units. Python str holds code points, so be explicit.

def js_len(s):
    return sum(2 if ord(c) > 0xFFFF else 1 for c in s)


def js_key(s):
    """Sort key equal to JS default string ordering (UTF-16 code unit order)."""
    return s.encode("utf-16-be", "surrogatepass")


def js_json_quote(s):
    """JSON.stringify(s) for a string, as ES2019+ engines do it."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20 or 0xD800 <= o <= 0xDFFF:
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def format_property_name(name):
    # formatPropertyName: names with , ' " { } are shown JSON-quoted.
    if re.search(r"[,'\"{}]", name):
        return js_json_quote(name)
    return name


def js_parse_int(s):
    """parseInt(s, 10) -> int or None (NaN)."""
    m = re.match(r"^\s*([+-]?\d+)", s)
    return int(m.group(1)) if m else None


# ---- the model --------------------------------------------------------------------------------

class Snap:
    def __init__(self, doc):
        snap = doc["snapshot"]
        meta = snap["meta"]
        nf = meta["node_fields"]
        self.K = len(nf)
        self.types = meta["node_types"][nf.index("type")]
        ef = meta["edge_fields"]
        self.EK = len(ef)
        self.etypes = meta["edge_types"][ef.index("type")]
        self.strings = doc["strings"]
        nodes = doc["nodes"]
        edges = doc["edges"]
        K, EK = self.K, self.EK
        N = len(nodes) // K
        E = len(edges) // EK
        self.N, self.E = N, E
        col = lambda name: nodes[nf.index(name)::K]
        self.ntype = col("type")
        self.nname = col("name")  # string index; may be rewritten (Detached prefix)
        self.nid = col("id")
        self.self_raw = col("self_size")
        self.nedges = col("edge_count")
        self.ndet = col("detachedness") if "detachedness" in nf else None
        self.etype = edges[ef.index("type")::EK]
        self.ename = edges[ef.index("name_or_index")::EK]
        self.eto = [t // K for t in edges[ef.index("to_node")::EK]]  # target ordinal
        first = [0] * (N + 1)
        acc = 0
        for i in range(N):
            first[i] = acc
            acc += self.nedges[i]
        first[N] = acc
        assert acc == E, "edge_count sum mismatch"
        self.first = first
        self.extra_native_bytes = snap.get("extra_native_bytes", 0) or 0
        t = self.types.index
        self.T_HIDDEN, self.T_ARRAY, self.T_STRING = t("hidden"), t("array"), t("string")
        self.T_OBJECT, self.T_CODE, self.T_CLOSURE = t("object"), t("code"), t("closure")
        self.T_REGEXP, self.T_NATIVE, self.T_SYNTH = t("regexp"), t("native"), t("synthetic")
        self.T_CONS, self.T_SLICED = t("concatenated string"), t("sliced string")
        e = self.etypes.index
        self.E_ELEMENT, self.E_HIDDEN, self.E_INTERNAL = e("element"), e("hidden"), e("internal")
        self.E_SHORTCUT, self.E_WEAK, self.E_PROPERTY = e("shortcut"), e("weak"), e("property")
        self.root = 0  # root_index is absent in V8 snapshots: the root is node 0
        # locations: object_index (a node *index*, i.e. ordinal*K), script_id, line, column
        lf = meta.get("location_fields") or []
        locs = doc.get("locations") or []
        self.loc = {}
        if lf:
            L = len(lf)
            oi, si, li, ci = (lf.index(x) for x in ("object_index", "script_id", "line", "column"))
            for j in range(0, len(locs), L):
                self.loc[locs[j + oi] // K] = (locs[j + si], locs[j + li], locs[j + ci])
        # retainers: for each node, the list of (source ordinal, edge ordinal)
        self.ret_first = None

    def edge_name(self, e):
        """JSHeapSnapshotEdge.name(): string for named edges, decimal text for element/hidden."""
        t = self.etype[e]
        if t == self.E_ELEMENT or t == self.E_HIDDEN:
            return str(self.ename[e])
        s = self.strings[self.ename[e]]
        if t == self.E_SHORTCUT:
            v = js_parse_int(s)
            return s if v is None else str(v)
        return s

    def raw_name(self, i):
        return self.strings[self.nname[i]]

    def build_retainers(self):
        N, E = self.N, self.E
        cnt = [0] * (N + 1)
        for t in self.eto:
            cnt[t] += 1
        rf = [0] * (N + 1)
        acc = 0
        for i in range(N):
            rf[i] = acc
            acc += cnt[i]
        rf[N] = acc
        pos = rf[:]
        rsrc = [0] * E
        redge = [0] * E
        for i in range(N):
            for e in range(self.first[i], self.first[i + 1]):
                t = self.eto[e]
                rsrc[pos[t]] = i
                redge[pos[t]] = e
                pos[t] += 1
        self.ret_first, self.ret_src, self.ret_edge = rf, rsrc, redge


# ---- the steps, in DevTools' order ---------------------------------------------------------------

def propagate_dom_state(s):
    """Step 1 (propagateDOMState): returns per-node detachedness and renames detached natives."""
    N = s.N
    det = list(s.ndet) if s.ndet is not None else [0] * N
    if s.ndet is None or "detached" in ABLATE:
        return det
    visited = bytearray(N)
    attached, detached = [], []
    renamed = {}

    def process(i, state):
        if visited[i]:
            return
        if s.ntype[i] != s.T_NATIVE:
            visited[i] = 1
            return
        det[i] = state
        if state == ATTACHED:
            attached.append(i)
        elif state == DETACHED:
            old = s.nname[i]
            if old not in renamed:
                s.strings.append("Detached " + s.strings[old])
                renamed[old] = len(s.strings) - 1
            s.nname[i] = renamed[old]
            detached.append(i)
        visited[i] = 1

    skip = (s.E_HIDDEN, s.E_WEAK)  # and the frontend-only 'invisible' type, never in a file

    def propagate(i, state):
        for e in range(s.first[i], s.first[i + 1]):
            if s.etype[e] in skip:
                continue
            process(s.eto[e], state)

    for i in range(N):
        if det[i] != UNKNOWN:
            process(i, det[i])
    while attached:
        propagate(attached.pop(), ATTACHED)
    while detached:
        i = detached.pop()
        if det[i] == ATTACHED:
            continue
        propagate(i, DETACHED)
    return det


def root_children(s):
    r = s.root
    return [(s.etype[e], s.eto[e]) for e in range(s.first[r], s.first[r + 1])]


def is_user_root(s, i):  # JSHeapSnapshot.isUserRoot: not synthetic, or the DOM-trees root
    return s.ntype[i] != s.T_SYNTH or s.raw_name(i) == "(Document DOM trees)"


def calculate_flags(s):
    N = s.N
    flags = bytearray(N)
    # markDetachedDOMTreeNodes
    for i in range(N):
        if s.ntype[i] == s.T_NATIVE and s.raw_name(i).startswith("Detached "):
            flags[i] |= FLAG_DETACHED
    # markQueriableHeapObjects: DFS from non-synthetic root children over edges that are not
    # hidden/internal/weak.
    stack = [c for _, c in root_children(s) if s.ntype[c] != s.T_SYNTH]
    banned = (s.E_HIDDEN, s.E_INTERNAL, s.E_WEAK)
    while stack:
        i = stack.pop()
        if flags[i] & FLAG_QUERY:
            continue
        flags[i] |= FLAG_QUERY
        for e in range(s.first[i], s.first[i + 1]):
            c = s.eto[e]
            if flags[c] & FLAG_QUERY or s.etype[e] in banned:
                continue
            stack.append(c)
    # markPageOwnedNodes: entry points are the root's shortcut children and element children
    # that are '(Document DOM trees)'; then everything reachable over non-weak edges.
    stack = []
    for t, c in root_children(s):
        if t == s.E_ELEMENT:
            if not (s.ntype[c] == s.T_SYNTH and s.raw_name(c) == "(Document DOM trees)"):
                continue
        elif t != s.E_SHORTCUT:
            continue
        stack.append(c)
        flags[c] |= FLAG_PAGE
    while stack:
        i = stack.pop()
        for e in range(s.first[i], s.first[i + 1]):
            c = s.eto[e]
            if flags[c] & FLAG_PAGE or s.etype[e] == s.E_WEAK:
                continue
            stack.append(c)
            flags[c] |= FLAG_PAGE
    return flags


def weakmap_match(s, e):
    """(duplicatedPart, tableId) if edge e is an internal WeakMap ephemeron edge, else None."""
    if s.etype[e] != s.E_INTERNAL:
        return None
    m = EPHEMERON_RE.match(s.strings[s.ename[e]])
    return (m.group("dup"), int(m.group("table"))) if m else None


def essential_edges(s, flags):
    ess = bytearray(s.E)
    for i in range(s.N):
        for e in range(s.first[i], s.first[i + 1]):
            t = s.etype[e]
            if t == s.E_INTERNAL:
                m = weakmap_match(s, e)
                if m and s.nid[i] == m[1] and "weakmap_table" not in ABLATE:
                    continue  # the WeakMap table's edge to the value
            if t == s.E_WEAK:
                continue
            c = s.eto[e]
            if c == i:
                continue
            if i != s.root:
                if t == s.E_SHORTCUT and "shortcut" not in ABLATE:
                    continue
                if (flags[c] & FLAG_PAGE) and not (flags[i] & FLAG_PAGE) and "page_owned" not in ABLATE:
                    continue
            ess[e] = 1
    return ess


def shallow_sizes(s):
    """calculateShallowSizes: returns the adjusted self sizes."""
    size = list(s.self_raw)
    if "shallow" in ABLATE:
        return size
    if not any(is_user_root(s, c) for _, c in root_children(s)):
        return size
    N = s.N
    UNVISITED, MULTI = -1, -2
    owners = [0] * N
    work = []
    for i in range(N):
        t = s.ntype[i]
        if t == s.T_HIDDEN or t == s.T_ARRAY or (t == s.T_NATIVE and s.raw_name(i) == "system / ExternalStringData"):
            owners[i] = UNVISITED
        else:
            owners[i] = i
            work.append(i)
    while work:
        i = work.pop()
        owner = owners[i]
        for e in range(s.first[i], s.first[i + 1]):
            if s.etype[e] == s.E_WEAK:
                continue
            c = s.eto[e]
            oc = owners[c]
            if oc == UNVISITED:
                owners[c] = owner
                work.append(c)
            elif oc == c or oc == owner or oc == MULTI:
                pass
            else:
                owners[c] = MULTI
                work.append(c)
    for i in range(N):
        o = owners[i]
        if o in (UNVISITED, MULTI) or o == i:
            continue
        if s.ntype[o] == s.T_SYNTH or o == s.root:
            continue
        size[o] += size[i]
        size[i] = 0
    return size


def dominators(s, ess):
    """Immediate dominators on G' = essential edges + (root -> every node with no essential
    retainer). Nodes unreachable even in G' get the root (and dominate nothing).
    Any correct dominator algorithm gives the same tree; this one is semi-NCA."""
    N, r = s.N, s.root
    has_ess_ret = bytearray(N)
    for e in range(s.E):
        if ess[e]:
            has_ess_ret[s.eto[e]] = 1
    orphans = [i for i in range(N) if i != r and not has_ess_ret[i]]
    if "orphans" in ABLATE:
        orphans = []
    succ_extra = orphans
    # Semi-NCA (Georgiadis): semidominators by path-compressed eval over a DFS preorder,
    # then idom by climbing the partial dominator tree. Order-independent result.
    pre = [-1] * N  # preorder number
    vert = []       # preorder -> node
    parent = [-1] * N
    seen2 = bytearray(N)
    stack = [(r, -1)]
    # preorder DFS over G' (essential edges, then the root's extra edges to orphans)
    while stack:
        i, par = stack.pop()
        if seen2[i]:
            continue
        seen2[i] = 1
        pre[i] = len(vert)
        vert.append(i)
        parent[i] = par
        kids = [s.eto[e] for e in range(s.first[i], s.first[i + 1]) if ess[e]]
        if i == r:
            kids += succ_extra
        for c in reversed(kids):
            if not seen2[c]:
                stack.append((c, i))
    preds = [[] for _ in range(N)]
    for i in range(N):
        for e in range(s.first[i], s.first[i + 1]):
            if ess[e]:
                preds[s.eto[e]].append(i)
    for o in orphans:
        preds[o].append(r)
    n = len(vert)
    semi = list(range(n))           # by preorder number
    label = list(range(n))
    anc = [-1] * n
    par_n = [pre[parent[v]] if parent[v] != -1 else -1 for v in vert]

    def ev(v):
        if anc[v] == -1:
            return v
        path = []
        x = v
        while anc[anc[x]] != -1:
            path.append(x)
            x = anc[x]
        for y in reversed(path):
            a = anc[y]
            if semi[label[a]] < semi[label[y]]:
                label[y] = label[a]
            anc[y] = anc[a]
        return label[v]

    for w in range(n - 1, 0, -1):
        for p in preds[vert[w]]:
            v = pre[p]
            if v == -1:
                continue  # predecessor unreachable in G'
            u = ev(v)
            if semi[u] < semi[w]:
                semi[w] = semi[u]
        anc[w] = par_n[w]
    idn = [0] * n
    for w in range(1, n):
        x = par_n[w]
        while x > semi[w]:
            x = idn[x]
        idn[w] = x
    idom = [-1] * N
    idom[r] = r
    for w in range(1, n):
        idom[vert[w]] = vert[idn[w]]
    rpo = vert  # any order where a dominator comes before the nodes it dominates
    stage2 = 0
    for i in range(N):
        if idom[i] == -1:
            idom[i] = r
            stage2 += 1
    return idom, rpo, len(orphans), stage2


def retained_sizes(s, idom, rpo, size):
    ret = [float(x) for x in size]
    reached = set(rpo)
    for i in reversed(rpo):
        if i != s.root:
            ret[idom[i]] += ret[i]
    for i in range(s.N):  # stage-2 nodes: leaves under the root
        if i not in reached:
            ret[s.root] += ret[i]
    return ret


def distances(s):
    N, r = s.N, s.root
    dist = [NO_DISTANCE] * N
    pending = set()

    def allowed(i, e):
        nt = s.ntype[i]
        if nt == s.T_HIDDEN and "sloppy" not in ABLATE and s.edge_name(e) == "sloppy_function_map" and s.raw_name(i) == "system / NativeContext":
            return False
        if nt == s.T_ARRAY and s.raw_name(i) == "(map descriptors)":
            idx = js_parse_int(s.edge_name(e))
            if idx is None:
                return True
            return idx < 2 or idx % 3 != 1
        if s.etype[e] == s.E_INTERNAL and "weakmap_distance" not in ABLATE:
            m = weakmap_match(s, e)
            if m:
                if m[0] in pending:
                    pending.discard(m[0])
                else:
                    pending.add(m[0])
                    return False
        return True

    def bfs(queue):
        h = 0
        while h < len(queue):
            i = queue[h]
            h += 1
            d = dist[i] + 1
            for e in range(s.first[i], s.first[i + 1]):
                if s.etype[e] == s.E_WEAK:
                    continue
                c = s.eto[e]
                if dist[c] != NO_DISTANCE:
                    continue
                if not allowed(i, e):
                    continue
                dist[c] = d
                queue.append(c)

    q = []
    for _, c in root_children(s):
        if is_user_root(s, c) and "user_roots" not in ABLATE:
            dist[c] = 1
            q.append(c)
    bfs(q)
    dist[r] = BASE_SYSTEM_DISTANCE if q else 0
    bfs([r])
    return dist


def class_names(s):
    """calculateObjectNames + inferInterfaceDefinitions + applyInterfaceDefinitions.
    Returns (names, internal_keys) where an internal key models DevTools' class *index*
    identity (number keys) so that collisions of public keys can be reproduced."""
    N = s.N
    names = [None] * N
    ikey = [None] * N
    for i in range(N):
        t = s.ntype[i]
        if t == s.T_HIDDEN:
            nm, k = "(system)", ("added", "(system)")
        elif t == s.T_OBJECT or t == s.T_NATIVE:
            nm = s.raw_name(i)
            if nm.startswith("<"):
                sp = nm.find(" ")
                if sp != -1:
                    nm = nm[:sp] + ">"
                k = ("added", nm)
            elif nm.startswith("Detached <"):
                sp = nm.find(" ", 10)
                if sp != -1:
                    nm = nm[:sp] + ">"
                k = ("added", nm)
            else:
                k = ("raw", s.nname[i])
        elif t == s.T_CODE:
            nm, k = "(compiled code)", ("added", "(compiled code)")
        elif t == s.T_CLOSURE:
            nm, k = "Function", ("added", "Function")
        elif t == s.T_REGEXP:
            nm, k = "RegExp", ("added", "RegExp")
        else:
            nm = "(" + s.types[t] + ")"
            k = ("added", nm)
        names[i], ikey[i] = nm, k

    plain = [i for i in range(N) if s.ntype[i] == s.T_OBJECT and s.raw_name(i) == "Object"]
    # inferInterfaceDefinitions
    cands = {}  # name -> [properties, count]; dict keeps first-seen order (= JS Map order)
    for i in plain:
        iname = "{"
        props = []
        for e in range(s.first[i], s.first[i + 1]):
            if s.etype[e] != s.E_PROPERTY:
                continue
            en = s.edge_name(e)
            if en == "__proto__":
                continue
            f = format_property_name(en)
            if js_len(iname) > 1 and js_len(iname) + js_len(f) > 120:
                break
            if js_len(iname) != 1:
                iname += ", "
            iname += f
            props.append(en)
        if not props:
            continue
        iname += "}"
        if iname in cands:
            cands[iname][1] += 1
        else:
            cands[iname] = [props, 1]
    if "interfaces" in ABLATE:
        cands = {}
    ordered = sorted(cands.items(), key=lambda kv: -kv[1][1])  # stable, like Array.prototype.sort
    min_count = max(2, len(plain) / 1000)
    defs = []
    for nm, (props, cnt) in ordered:
        if cnt < min_count:
            break
        defs.append((nm, props))

    # applyInterfaceDefinitions: a trie over each definition's sorted properties.
    def new_node():
        return {"next": {}, "match": None, "greatest": None}

    tree = new_node()
    for idx, (nm, props) in enumerate(defs):
        cur = tree
        for p in sorted(props, key=js_key):
            nxt = cur["next"].get(p)
            if nxt is None:
                nxt = new_node()
                cur["next"][p] = nxt
                if cur["greatest"] is None or js_key(cur["greatest"]) < js_key(p):
                    cur["greatest"] = p
            cur = nxt
        if cur["match"] is None:
            cur["match"] = (nm, len(props), idx)

    def better(a, b):
        if b is None or a[1] > b[1]:
            return a
        if b[1] > a[1]:
            return b
        return a if a[2] <= b[2] else b

    initial = ("Object", 0, math.inf)
    for i in plain:
        props = [s.edge_name(e) for e in range(s.first[i], s.first[i + 1]) if s.etype[e] == s.E_PROPERTY]
        props.sort(key=js_key)
        states = [tree]  # insertion-ordered set (identity)
        match = better(initial, tree["match"])
        for p in props:
            pk = js_key(p)
            for st in list(states):
                if st["greatest"] is None or pk >= js_key(st["greatest"]):
                    states = [x for x in states if x is not st]
                nxt = st["next"].get(p)
                if nxt is not None:
                    if not any(x is nxt for x in states):
                        states.append(nxt)
                    match = better(match, nxt["match"])
        if match is not initial:
            names[i] = match[0]
            ikey[i] = ("iface", match[0])
    return names, ikey


def public_key(s, i, names, ikey):
    if s.ntype[i] == s.T_OBJECT and i in s.loc and "locations" not in ABLATE:
        sid, line, col = s.loc[i]
        return "%d,%d,%d,%s" % (sid, line, col, names[i]), True
    return "," + names[i], False


def aggregates(s, names, ikey, size, dist, ret, idom):
    N = s.N
    internal = {}  # internal key -> aggregate, first-seen order
    keys = [None] * N
    for i in range(N):
        pk, by_loc = public_key(s, i, names, ikey)
        keys[i] = pk if by_loc else ikey[i]
    for i in range(N):
        if not size[i]:
            continue
        k = keys[i]
        a = internal.get(k)
        if a is None:
            internal[k] = a = {"name": names[i], "count": 0, "distance": dist[i], "self": 0, "retained": 0,
                               "public": public_key(s, i, names, ikey)[0]}
        a["count"] += 1
        a["distance"] = min(a["distance"], dist[i])
        a["self"] += size[i]
    # retained: members with no dominator-tree ancestor of the same key (and non-zero size)
    children = [[] for _ in range(N)]
    for i in range(N):
        if i != s.root:
            children[idom[i]].append(i)
    active = {}
    stack = [(s.root, False)]
    while stack:
        i, leaving = stack.pop()
        k = keys[i]
        if leaving:
            active[k] -= 1
            continue
        counted = False
        if size[i] and not active.get(k):
            internal[k]["retained"] += ret[i]
            counted = True
        if counted:
            active[k] = active.get(k, 0) + 1
            stack.append((i, True))
        for c in children[i]:
            stack.append((c, False))
    out = {}
    collisions = []
    for k, a in internal.items():
        pk = a.pop("public")
        if pk in out:
            collisions.append(pk)
        out[pk] = a  # a later internal key overwrites an earlier one, as in DevTools
    return out, keys, collisions


def statistics(s, size, total):
    native = s.extra_native_bytes
    typed = code = strings = arrays = system = 0
    ret_count = [0] * s.N
    for t in s.eto:
        ret_count[t] += 1
    for i in range(s.N):
        t = s.ntype[i]
        sz = size[i]
        if t == s.T_HIDDEN:
            system += sz
            continue
        if t == s.T_NATIVE:
            native += sz
            if s.raw_name(i) == "system / JSArrayBufferData":
                typed += sz
        elif t == s.T_CODE:
            code += sz
        elif t in (s.T_CONS, s.T_SLICED, s.T_STRING):
            strings += sz
        elif s.raw_name(i) == "Array":
            a = sz
            for e in range(s.first[i], s.first[i + 1]):
                if s.etype[e] != s.E_INTERNAL or s.strings[s.ename[e]] != "elements":
                    continue
                c = s.eto[e]
                if ret_count[c] == 1:
                    a += size[c]
                break
            arrays += a
    return {"total": total, "native": {"total": native, "typedArrays": typed},
            "v8heap": {"total": total - native, "code": code, "jsArrays": arrays, "strings": strings,
                       "system": system}}


def check(sample, golden_path):
    t0 = time.time()
    doc = json.load(gzip.open(sample))
    g = json.load(gzip.open(golden_path))
    s = Snap(doc)
    propagate_dom_state(s)
    flags = calculate_flags(s)
    ess = essential_edges(s, flags)
    size = shallow_sizes(s)
    idom, rpo, n_orphans, n_stage2 = dominators(s, ess)
    ret = retained_sizes(s, idom, rpo, size)
    dist = distances(s)
    names, ikey = class_names(s)
    aggs, keys, collisions = aggregates(s, names, ikey, size, dist, ret, idom)
    total = ret[s.root] + s.extra_native_bytes
    stats = statistics(s, size, total)
    mine = {
        "node_count": s.N,
        "edge_count": s.E,
        "ids": s.nid,
        "class_names": names,
        "class_keys": [public_key(s, i, names, ikey)[0] for i in range(s.N)],
        "distances": dist,
        "retained_sizes": ret,
        "dominator_ids": [s.nid[d] for d in idom],
        "self_sizes": size,
        "flags": list(flags),
        "aggregates": aggs,
        "statistics": stats,
        "total_size": total,
    }
    ok = True
    report = []
    for k, v in mine.items():
        gv = g[k]
        if k == "aggregates":
            same = v == gv and list(v) == list(gv)
        else:
            same = v == gv
        if not same:
            ok = False
            if isinstance(v, list):
                bad = [i for i in range(min(len(v), len(gv))) if v[i] != gv[i]]
                report.append("%s: %d mismatches, first at ordinal %s: mine=%r devtools=%r" % (
                    k, len(bad), bad[0] if bad else None, v[bad[0]] if bad else None, gv[bad[0]] if bad else None))
            elif isinstance(v, dict) and k == "aggregates":
                diff = [x for x in set(v) | set(gv) if v.get(x) != gv.get(x)]
                report.append("aggregates: %d keys differ, e.g. %r mine=%r devtools=%r%s" % (
                    len(diff), diff[:1], v.get(diff[0]) if diff else None, gv.get(diff[0]) if diff else None,
                    "" if diff else " (order differs)"))
            else:
                report.append("%s: mine=%r devtools=%r" % (k, v, gv))
    name = os.path.basename(sample)
    print("%-32s %s  (%.1f s; orphans %d, unreachable-in-G' %d, key collisions %d)" % (
        name, "OK all columns match" if ok else "MISMATCH", time.time() - t0, n_orphans, n_stage2, len(collisions)))
    for line in report:
        print("   ", line)
    return ok


def main(argv):
    argv = list(argv)
    while "--ablate" in argv:
        j = argv.index("--ablate")
        rule = argv[j + 1]
        if rule not in ABLATIONS:
            sys.exit("unknown rule %r; one of: %s" % (rule, ", ".join(ABLATIONS)))
        ABLATE.add(rule)
        del argv[j:j + 2]
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    samples = argv
    if not samples:
        for sub in ("", "synthetic"):
            d = os.path.join(repo, "samples", sub)
            if os.path.isdir(d):
                samples += sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".heapsnapshot.gz"))
    ok = True
    for smp in samples:
        base = os.path.basename(smp)[: -len(".heapsnapshot.gz")]
        sub = "synthetic" if os.path.basename(os.path.dirname(os.path.abspath(smp))) == "synthetic" else ""
        gp = os.path.join(repo, "tests", "golden", sub, base + ".json.gz")
        ok &= check(smp, gp)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
