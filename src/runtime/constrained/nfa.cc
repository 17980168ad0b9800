// Thompson construction from the IR, then the passes the lazy DFA relies on: liveness pruning,
// distances to acceptance and byte classes.
#include "runtime/constrained/nfa.h"

#include <deque>
#include <map>
#include <string>
#include <algorithm>

#include "core/error.h"

namespace slm::constrained {
namespace {

struct Frag {
  uint32_t start, end;
};

class Builder {
 public:
  Builder(Nfa& nfa, size_t max_states) : nfa_(nfa), max_states_(max_states) {}

  Frag build(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::fail: return {add(), add()};
      case Expr::Kind::empty: {
        const Frag f{add(), add()};
        eps(f.start, f.end);
        return f;
      }
      case Expr::Kind::bytes: {
        const Frag f{add(), add()};
        nfa_.states[f.start].next = int32_t(f.end);
        nfa_.states[f.start].set = intern(e.set);
        return f;
      }
      case Expr::Kind::seq: {
        Frag f = build(*e.kids[0]);
        for (size_t i = 1; i < e.kids.size(); ++i) {
          const Frag g = build(*e.kids[i]);
          eps(f.end, g.start);
          f.end = g.end;
        }
        return f;
      }
      case Expr::Kind::alt: {
        const Frag f{add(), add()};
        for (const auto& k : e.kids) {
          const Frag g = build(*k);
          eps(f.start, g.start);
          eps(g.end, f.end);
        }
        return f;
      }
      case Expr::Kind::repeat: return repeat(e);
      case Expr::Kind::list: return list(e);
      case Expr::Kind::members: return members(e);
      case Expr::Kind::intersect: return intersect(e);
    }
    SLM_CHECK(false, "unknown IR kind");
    return {};
  }

 private:
  uint32_t add() {
    if (nfa_.states.size() >= max_states_) {
      fail("[constrained] the constraint is too large to compile (more than {} automaton states)",
           max_states_);
    }
    nfa_.states.emplace_back();
    return uint32_t(nfa_.states.size() - 1);
  }
  void eps(uint32_t from, uint32_t to) { nfa_.states[from].eps.push_back(to); }
  uint32_t intern(const std::bitset<256>& s) {
    const std::string key = s.to_string();
    auto [it, fresh] = set_ids_.emplace(key, uint32_t(nfa_.sets.size()));
    if (fresh) nfa_.sets.push_back(s);
    return it->second;
  }

  Frag repeat(const Expr& e) {
    const Expr& x = *e.kids[0];
    Frag f{add(), 0};
    f.end = f.start;
    for (int i = 0; i < e.min - (e.max < 0 && e.min > 0 ? 1 : 0); ++i) {
      const Frag g = build(x);
      eps(f.end, g.start);
      f.end = g.end;
    }
    if (e.max < 0) {  // x* (or the last mandatory copy as x+)
      const Frag g = build(x);
      const uint32_t out = add();
      eps(f.end, g.start);
      eps(g.end, g.start);
      eps(g.end, out);
      if (e.min == 0) eps(f.end, out);
      f.end = out;
      return f;
    }
    const uint32_t out = add();
    for (int i = e.min; i < e.max; ++i) {
      eps(f.end, out);
      const Frag g = build(x);
      eps(f.end, g.start);
      f.end = g.end;
    }
    eps(f.end, out);
    f.end = out;
    return f;
  }

  Frag list(const Expr& e) {
    const Expr& item = *e.kids[0];
    const Expr& sep = *e.kids[1];
    const Frag f0{add(), add()};
    if (e.min == 0) eps(f0.start, f0.end);
    uint32_t cur = f0.start;
    int items = 0;
    // Mandatory items before the last (or the loop), each followed by a separator.
    const int fixed = e.max < 0 ? std::max(e.min - 1, 0) : e.max;
    for (; items < fixed; ++items) {
      if (items > 0) {
        const Frag s = build(sep);
        eps(cur, s.start);
        cur = s.end;
      }
      const Frag g = build(item);
      eps(cur, g.start);
      cur = g.end;
      if (items + 1 >= e.min) eps(cur, f0.end);
    }
    if (e.max < 0) {  // one looping copy: item (sep item)*
      if (items > 0) {
        const Frag s = build(sep);
        eps(cur, s.start);
        cur = s.end;
      }
      const Frag g = build(item);
      const Frag s = build(sep);
      eps(cur, g.start);
      eps(g.end, f0.end);
      eps(g.end, s.start);
      eps(s.end, g.start);
    }
    return f0;
  }

  // Two tracks: a_ (nothing emitted yet) and b_ (something emitted, so a separator comes first). Each
  // item is built once and entered from both tracks.
  Frag members(const Expr& e) {
    const size_t n = e.kids.size() - 1;
    uint32_t a = add(), b = add();
    const uint32_t start = a;
    for (size_t i = 0; i < n; ++i) {
      const Frag item = build(*e.kids[i + 1]);
      const Frag sep = build(*e.kids[0]);
      const uint32_t a2 = add(), b2 = add();
      eps(a, item.start);
      eps(b, sep.start);
      eps(sep.end, item.start);
      eps(item.end, b2);
      if (!e.required[i]) {
        eps(a, a2);
        eps(b, b2);
      }
      a = a2;
      b = b2;
    }
    const uint32_t end = add();
    eps(a, end);
    eps(b, end);
    return {start, end};
  }

  // Product of the two kids' automata, built over reachable pairs only. Epsilon moves are taken on the
  // left side first and on the right only once the left state has a byte edge (or accepts), which
  // reaches every pair a byte step needs while keeping the pair count down.
  Frag intersect(const Expr& e) {
    const Nfa a = compile_nfa(e.kids[0], max_states_);
    const Nfa b = compile_nfa(e.kids[1], max_states_);
    const Frag f{add(), add()};
    if (!a.live[a.start] || !b.live[b.start]) return f;
    std::map<std::pair<uint32_t, uint32_t>, uint32_t> ids;
    std::vector<std::pair<uint32_t, uint32_t>> pending;
    auto id_of = [&](uint32_t p, uint32_t q) {
      auto [it, fresh] = ids.emplace(std::pair{p, q}, 0);
      if (fresh) it->second = add(), pending.push_back({p, q});
      return it->second;
    };
    eps(f.start, id_of(a.start, b.start));
    while (!pending.empty()) {
      const auto [p, q] = pending.back();
      pending.pop_back();
      const uint32_t s = ids[{p, q}];
      const Nfa::State& sa = a.states[p];
      const Nfa::State& sb = b.states[q];
      for (uint32_t t : sa.eps) eps(s, id_of(t, q));
      if (sa.next < 0 && p != a.accept) continue;
      for (uint32_t t : sb.eps) eps(s, id_of(p, t));
      if (p == a.accept && q == b.accept) eps(s, f.end);
      if (sa.next >= 0 && sb.next >= 0) {
        const std::bitset<256> both = a.sets[sa.set] & b.sets[sb.set];
        if (both.any()) {
          const uint32_t t = id_of(uint32_t(sa.next), uint32_t(sb.next));
          nfa_.states[s].next = int32_t(t);
          nfa_.states[s].set = intern(both);
        }
      }
    }
    return f;
  }

  Nfa& nfa_;
  size_t max_states_;
  std::map<std::string, uint32_t> set_ids_;
};

void mark_live(Nfa& n) {
  const size_t ns = n.states.size();
  std::vector<std::vector<uint32_t>> rev(ns);
  for (uint32_t s = 0; s < ns; ++s) {
    if (n.states[s].next >= 0) rev[size_t(n.states[s].next)].push_back(s);
    for (uint32_t t : n.states[s].eps) rev[t].push_back(s);
  }
  // 0-1 BFS backwards from accept: epsilon edges cost 0, byte edges 1.
  n.dist.assign(ns, Nfa::kFar);
  std::deque<uint32_t> q{n.accept};
  n.dist[n.accept] = 0;
  while (!q.empty()) {
    const uint32_t t = q.front();
    q.pop_front();
    for (uint32_t s : rev[t]) {
      const bool byte = n.states[s].next == int32_t(t);
      const bool epsilon = std::find(n.states[s].eps.begin(), n.states[s].eps.end(), t) != n.states[s].eps.end();
      const uint32_t d = n.dist[t] + (epsilon ? 0 : 1);
      if ((byte || epsilon) && d < n.dist[s]) {
        n.dist[s] = d;
        if (epsilon) {
          q.push_front(s);
        } else {
          q.push_back(s);
        }
      }
    }
  }
  n.live.assign(ns, 0);
  for (size_t s = 0; s < ns; ++s) n.live[s] = n.dist[s] != Nfa::kFar;
  for (auto& st : n.states) {  // drop edges into dead states
    if (st.next >= 0 && !n.live[size_t(st.next)]) st.next = -1;
    std::erase_if(st.eps, [&](uint32_t t) { return !n.live[t]; });
  }
}

void make_classes(Nfa& n) {
  uint16_t cls[256] = {};
  int count = 1;
  for (const auto& set : n.sets) {
    std::map<std::pair<uint16_t, bool>, uint16_t> remap;
    for (int b = 0; b < 256; ++b) {
      auto [it, fresh] = remap.emplace(std::pair{cls[b], bool(set[size_t(b)])}, uint16_t(remap.size()));
      cls[b] = it->second;
    }
    count = int(remap.size());
  }
  n.n_classes = count;
  n.class_rep.assign(size_t(count), 0);
  std::vector<bool> seen(size_t(count), false);
  for (int b = 0; b < 256; ++b) {
    n.byte_class[b] = uint8_t(cls[b]);
    if (!seen[cls[b]]) seen[cls[b]] = true, n.class_rep[cls[b]] = uint8_t(b);
  }
}

}  // namespace

Nfa compile_nfa(const ExprPtr& e, size_t max_states) {
  Nfa n;
  Builder b(n, max_states);
  const Frag f = b.build(*e);
  n.start = f.start;
  n.accept = f.end;
  mark_live(n);
  make_classes(n);
  return n;
}

}  // namespace slm::constrained
