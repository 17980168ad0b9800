// The Jinja engine on its own (no test data): whitespace control, statements, expressions, filters,
// tests, methods, errors with line/column, resource limits; and ChatTemplate's loaders and message
// handling. Expected strings are what Python jinja2 3.1 renders with transformers' settings.
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/jinja.h"

namespace slm::jinja {
namespace {

using ojson = nlohmann::ordered_json;

std::string render(std::string_view tpl, const ojson& vars = ojson::object(), const RenderOptions& opt = {}) {
  return Template(tpl).render(vars, opt);
}

// The slm::Error message of rendering (or parsing) `tpl`, or "" when it renders.
std::string error_of(std::string_view tpl, const ojson& vars = ojson::object(), const RenderOptions& opt = {}) {
  try {
    render(tpl, vars, opt);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Jinja, PlainTextAndTrailingNewline) {
  EXPECT_EQ(render(""), "");
  EXPECT_EQ(render("hello"), "hello");
  EXPECT_EQ(render("hello\n"), "hello");        // jinja2 drops one trailing newline
  EXPECT_EQ(render("hello\n\n"), "hello\n");
  EXPECT_EQ(render("a\r\nb\r\n"), "a\nb");     // newlines are normalised
  EXPECT_EQ(render("{ not a tag } {{ '{{' }}"), "{ not a tag } {{");
}

TEST(Jinja, WhitespaceControl) {
  EXPECT_EQ(render("a  {%- if true %} b {% endif -%}  c"), "a b c");
  EXPECT_EQ(render("{{ 'x' }}\n{{- 'y' -}}\n z"), "xyz");
  EXPECT_EQ(render("  {%- if true -%}  x  {%- endif -%}  "), "x");
  EXPECT_EQ(render("{{- ' x ' -}}"), " x ");
  EXPECT_EQ(render("{% for i in [1,2] -%}\n  {{ i }}\n{%- endfor %}"), "12");
  EXPECT_EQ(render("{% for i in [1,2] %}  {{ i }}  {% endfor %}"), "  1    2  ");
  EXPECT_EQ(render("{%- macro f() -%}\n  body\n{%- endmacro -%}\n[{{ f() }}]"), "[body]");
}

TEST(Jinja, TrimAndLstripBlocks) {
  EXPECT_EQ(render("a\n  {% if true %}\n  b\n  {% endif %}\nc"), "a\n  b\nc");
  EXPECT_EQ(render("line1\n    {% for i in [1,2] %}\n    {{ i }}\n    {% endfor %}\nend\n"), "line1\n    1\n    2\nend");
  EXPECT_EQ(render("{% if x %}\n  a\n{% else %}\n  b\n{% endif %}\n", {{"x", 0}}), "  b\n");
  EXPECT_EQ(render("a\n  {%+ if true %}\n  b\n  {%- endif %}\nc"), "a\n    bc");  // '+' keeps the indent
  EXPECT_EQ(render("a {%+ if true +%}\nb{% endif %}"), "a \nb");                   // '+%}' keeps the newline
  EXPECT_EQ(render("x   {% if true %}y{% endif %}"), "x   y");  // not at line start: kept
  EXPECT_EQ(render("  {{ 1 }}  {% if true %}  x{% endif %}"), "  1    x");  // {{ }} is never lstripped
  EXPECT_EQ(render("\t{% if true %}\t\n{% endif %}"), "\t\n");
  EXPECT_EQ(render("{%- set x = 1 -%}\n\n  {{ x }}  \n"), "1  ");
}

TEST(Jinja, CommentsAndRaw) {
  EXPECT_EQ(render("  {# comment #}\nx\n {#- c -#}  y"), "xy");
  EXPECT_EQ(render("a\n{#- c #}\nb\n  {# c -#}\n c"), "ab\nc");
  EXPECT_EQ(render("{% raw %}{{ x }}{% endraw %}\n{%- raw -%}  {% if %} {%- endraw %}"), "{{ x }}{% if %}");
  EXPECT_EQ(render("\n  {% raw %}\n  {{ x }}\n  {% endraw %}\n"), "\n\n  {{ x }}\n");
}

TEST(Jinja, ForLoops) {
  const ojson xs = {{"xs", {"a", "b", "c"}}};
  EXPECT_EQ(render("{% for x in xs %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/"
                   "{{ loop.first }}/{{ loop.last }}/{{ loop.length }};{% endfor %}", xs),
            "1/0/3/2/True/False/3;2/1/2/1/False/False/3;3/2/1/0/False/True/3;");
  EXPECT_EQ(render("{% for x in xs %}{{ x }}{% else %}empty{% endfor %}", {{"xs", ojson::array()}}), "empty");
  EXPECT_EQ(render("{% for x in xs if x > 1 %}{{ x }}{{ loop.length }}{% endfor %}", {{"xs", {1, 2, 3}}}), "2232");
  EXPECT_EQ(render("{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}", {{"d", {{"b", 1}, {"a", 2}}}}), "b=1,a=2,");
  EXPECT_EQ(render("{% for k in d %}{{ k }}{% endfor %}", {{"d", {{"b", 1}, {"a", 2}}}}), "ba");
  EXPECT_EQ(render("{% for x in range(10) %}{% if x == 5 %}{% break %}{% endif %}{% if x % 2 %}{% continue %}"
                   "{% endif %}{{ x }}{% endfor %}"),
            "024");
  EXPECT_EQ(render("{% for x in 'héllo' %}{{ x }}|{% endfor %}"), "h|é|l|l|o|");
  EXPECT_EQ(render("{% for x in xs %}{{ loop.cycle('a','b') }}{{ loop.previtem }}{{ loop.nextitem }}{% endfor %}",
                   {{"xs", {1, 2, 3}}}),
            "a2b13a2");
  EXPECT_EQ(render("{% for x in [1,2,3] %}{% for y in [4,5] %}{{ loop.index }}{{ x }}{% endfor %}{{ loop.index }}"
                   "{% endfor %}"),
            "112111222213233");
  EXPECT_EQ(render("{% for a, b in [[1,2],[3,4]] %}{{ a + b }}{% endfor %}"), "37");
  EXPECT_EQ(render("{% for q in undefined_thing %}x{% endfor %}"), "");
  EXPECT_NE(error_of("{% for x in none %}{% endfor %}").find("not iterable"), std::string::npos);
}

TEST(Jinja, SetScopingNamespaceAndMacros) {
  EXPECT_EQ(render("{% set y = 0 %}{% for x in [1,2] %}{% set y = x %}{% endfor %}{{ y }}"), "0");
  EXPECT_EQ(render("{% set ns = namespace(a=1, b='x') %}{% set ns.a = ns.a + 1 %}{{ ns.a }}{{ ns.b }}"), "2x");
  EXPECT_EQ(render("{% set ns = namespace(items=[]) %}{% for x in [1,2] %}{% set ns.items = ns.items + [x] %}"
                   "{% endfor %}{{ ns.items }}"),
            "[1, 2]");
  EXPECT_EQ(render("{% set a, b = 1, 2 %}{{ a }}{{ b }}"), "12");
  EXPECT_EQ(render("{% set x %}inner {{ 1 + 2 }}{% endset %}[{{ x }}]"), "[inner 3]");
  EXPECT_EQ(render("{% macro greet(name, punct='!') %}Hello {{ name }}{{ punct }}{% endmacro %}"
                   "{{ greet('A') }} {{ greet('B', '?') }} {{ greet(name='C', punct='.') }}"),
            "Hello A! Hello B? Hello C.");
  EXPECT_EQ(render("{% macro m(x) %}[{{ x }}]{% if x > 0 %}{{ m(x - 1) }}{% endif %}{% endmacro %}{{ m(3) }}"),
            "[3][2][1][0]");
  EXPECT_EQ(render("{% set g = 'top' %}{% macro m() %}{{ g }}{% endmacro %}{{ m() }}"), "top");
  EXPECT_EQ(render("{% filter upper %}abc{{ 1 }}{% endfilter %}"), "ABC1");
  EXPECT_EQ(render("{% generation %}gen{% endgeneration %}"), "gen");
  EXPECT_NE(error_of("{% set x = 1 %}{% set x.y = 1 %}").find("not a namespace"), std::string::npos);
  EXPECT_NE(error_of("{% macro f(a) %}{% endmacro %}{{ f(1, 2) }}").find("takes not more than 1"), std::string::npos);
}

TEST(Jinja, ArithmeticAndNumberFormatting) {
  EXPECT_EQ(render("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} "
                   "{{ 2 ** 10 }} {{ 4 / 2 }}"),
            "7 9 3 -4 1 2 3.5 1024 2.0");
  EXPECT_EQ(render("{{ 1.5 + 1 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1e-5 }} {{ 3.0 }} {{ 1/3 }} {{ 123456789.123 }} "
                   "{{ 1e16 }} {{ 1e15 }}"),
            "2.5 0.30000000000000004 1e+20 1e-05 3.0 0.3333333333333333 123456789.123 1e+16 1000000000000000.0");
  EXPECT_EQ(render("{{ 5 - 3 - 1 }} {{ 2 * 3 % 4 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 10 // 3.0 }} {{ 10 % 3.5 }}"),
            "1 2 64 4 3.0 3.0");
  EXPECT_EQ(render("{{ 'a' ~ 1 ~ none ~ true }} {{ 'ab' * 3 }} {{ [1] + [2] }} {{ 'x' + 'y' }} {{ 'x' * -1 }}|"),
            "a1NoneTrue ababab [1, 2] xy |");
  EXPECT_EQ(render("{{ true + 1 }}{{ 'abc' ~ (1 + 2) }}"), "2abc3");
  EXPECT_NE(error_of("{{ 'abc' ~ 1 + 2 }}").find("unsupported operand"), std::string::npos);  // ~ binds tighter
  EXPECT_NE(error_of("{{ 1 / 0 }}").find("division by zero"), std::string::npos);
  EXPECT_NE(error_of("{{ 1 + 'a' }}").find("unsupported operand"), std::string::npos);
  EXPECT_NE(error_of("{{ 9223372036854775807 + 1 }}").find("integer overflow"), std::string::npos);
}

TEST(Jinja, LiteralsReprAndComparisons) {
  EXPECT_EQ(render("{{ [1, 'a', none, true, 1.0, {'k': 'v'}] }} {{ {'a': [1, 2]} }} {{ \"it's\" }} {{ ['it\\'s'] }}"),
            "[1, 'a', None, True, 1.0, {'k': 'v'}] {'a': [1, 2]} it's [\"it's\"]");
  EXPECT_EQ(render("{{ (1, 2) }} {{ (1,) }} {{ {'a': 1}.items() | list }}"), "(1, 2) (1,) [('a', 1)]");
  EXPECT_EQ(render("{{ 'a' 'b' }} {{ \"\\u00e9\\x41\\n\" | length }} {{ '\\q' }}"), "ab 3 \\q");
  EXPECT_EQ(render("{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' in 'cat' }} {{ 1 not in [1,2] }} {{ 'k' in {'k':1} }} "
                   "{{ 1 == 1.0 }} {{ true == 1 }} {{ [1,2] < [1,3] }}"),
            "True False True False True True True True");
  EXPECT_EQ(render("{{ 'yes' if x else 'no' }} {{ 'a' if false }}|{{ 1 if true else 2 if false else 3 }}", {{"x", 1}}),
            "yes |1");
  EXPECT_EQ(render("{{ not true or false and true }} {{ 0 or 'z' }} {{ 1 and 2 }} {{ [] or {} }}"), "False z 2 {}");
  EXPECT_EQ(render("{{ none }}|{{ undefined_thing }}|{{ true }}"), "None||True");
}

TEST(Jinja, SubscriptsAndSlices) {
  const ojson v = {{"xs", {1, 2, 3, 4}}, {"d", {{"a", 1}, {"b", 2}}}};
  EXPECT_EQ(render("{{ xs[0] }} {{ xs[-1] }} {{ xs[1:] }} {{ xs[:2] }} {{ xs[::-1] }} {{ xs[::2] }} {{ xs[10] }}|"
                   "{{ 'hello'[1:3] }} {{ 'hello'[::-1] }} {{ 'héllo'[1] }} {{ xs.0 }}", v),
            "1 4 [2, 3, 4] [1, 2] [4, 3, 2, 1] [1, 3] |el olleh é 1");
  EXPECT_EQ(render("{{ d.a }} {{ d['a'] }} {{ d.missing }}|{{ d.get('a') }} {{ d.get('z', 5) }} {{ d.get('z') }} "
                   "{{ d.keys() | list }} {{ d.values() | list }}", v),
            "1 1 |1 5 None ['a', 'b'] [1, 2]");
  EXPECT_NE(error_of("{{ x[1:2:0] }}", {{"x", {1}}}).find("slice step cannot be zero"), std::string::npos);
  EXPECT_NE(error_of("{{ x.y.z }}", {{"x", ojson::object()}}).find("'x.y' is undefined"), std::string::npos);
}

TEST(Jinja, Tests) {
  EXPECT_EQ(render("{{ 'x' is string }} {{ 1 is number }} {{ 1 is integer }} {{ 1.0 is float }} {{ {} is mapping }} "
                   "{{ [] is iterable }} {{ 's' is iterable }} {{ 1 is iterable }} {{ none is none }} "
                   "{{ true is boolean }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} "
                   "{{ 1 is sameas true }} {{ x is sameas false }} {{ 'a' is lower }}",
                   {{"x", false}}),
            "True True True True True True True False True True True True True False True True");
  EXPECT_EQ(render("{{ 'Hello' is eq 'Hello' }} {{ 2 is gt 1 }} {{ 2 is lt 1 }} {{ 2 is ge(2) }} {{ 1 is in [1] }}"),
            "True True False True True");
  EXPECT_EQ(render("{{ x is none }} {{ x is not none }} {{ y is defined }} {{ not y is defined }} {{ y is undefined }}",
                   {{"x", nullptr}}),
            "True False False True True");
}

TEST(Jinja, Filters) {
  EXPECT_EQ(render("{{ '  hi  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ 'abc' | upper }}|{{ 'ABC' | lower }}|"
                   "{{ 'hello world' | title }}|{{ 'hELLO' | capitalize }}|{{ 'hell0 w0rld' | title }}"),
            "hi|hi|ABC|abc|Hello World|Hello|Hell0 W0rld");
  EXPECT_EQ(render("{{ xs | length }} {{ 'héllo' | length }} {{ d | length }} {{ xs | first }} {{ xs | last }} "
                   "{{ xs | join(', ') }} {{ xs | join }} {{ xs | count }}",
                   {{"xs", {1, 2, 3}}, {"d", {{"a", 1}}}}),
            "3 5 1 1 3 1, 2, 3 123 3");
  EXPECT_EQ(render("{{ x | default('d') }} {{ '' | default('d') }} {{ '' | default('d', true) }} "
                   "{{ none | default('d') }} {{ y | d('z') }}"),
            "d  d None z");
  EXPECT_EQ(render("{{ 'aaa' | replace('a', 'b') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ 12 | string }} "
                   "{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int }} {{ 3.9 | int }} {{ '2.5' | float }} "
                   "{{ 'x' | int(7) }}"),
            "bbb bba 12 42 4 0 3 2.5 7");
  EXPECT_EQ(render("{{ d | items | list }} {{ 'ab' | list }} {{ d | list }}", {{"d", {{"a", 1}, {"b", {2}}}}}),
            "[('a', 1), ('b', [2])] ['a', 'b'] ['a', 'b']");
  const ojson msgs = {{"xs", {{{"role", "user"}, {"content", "a"}}, {{"role", "assistant"}, {"content", "b"}, {"flag", true}}}}};
  EXPECT_EQ(render("{{ xs | selectattr('role', 'equalto', 'user') | list }} "
                   "{{ xs | rejectattr('role', 'equalto', 'user') | map(attribute='content') | list }} "
                   "{{ xs | selectattr('flag') | list | length }} {{ xs | map(attribute='nope', default='z') | list }}",
                   msgs),
            "[{'role': 'user', 'content': 'a'}] ['b'] 1 ['z', 'z']");
  EXPECT_EQ(render("{{ xs | map('upper') | join(',') }} {{ xs | select('equalto', 'a') | list }} "
                   "{{ xs | reject('equalto', 'a') | list }}",
                   {{"xs", {"a", "b"}}}),
            "A,B ['a'] ['b']");
  EXPECT_EQ(render("{{ '<a href=\"x\">&\\'' | escape }} {{ '<b>' | safe }} {{ '<b>' | e }}"),
            "&lt;a href=&#34;x&#34;&gt;&amp;&#39; <b> &lt;b&gt;");
  EXPECT_EQ(render("{{ [3,1,2] | sort }} {{ ['b','A','a'] | sort }} {{ [1,2,1] | unique | list }} "
                   "{{ [1,2] | reverse | list }} {{ 'abc' | reverse }} {{ [1,2,3] | sum }} {{ [1,3] | max }} "
                   "{{ [1,3] | min }} {{ [3,1] | sort(reverse=true) }}"),
            "[1, 2, 3] ['A', 'a', 'b'] [1, 2] [2, 1] cba 6 3 1 [3, 1]");
  EXPECT_EQ(render("{{ 'a\nb\n\nc' | indent(2) }}|{{ 'a\nb' | indent(2, true) }}|{{ 2.567 | round(1) }} "
                   "{{ 2.5 | round }} {{ -3 | abs }} {{ 'abc' | center(9) }}|"),
            "a\n  b\n\n  c|  a\n  b|2.6 2.0 3    abc   |");
  EXPECT_EQ(render("{{ d | dictsort }}", {{"d", {{"b", 1}, {"A", 2}}}}), "[('A', 2), ('b', 1)]");
}

TEST(Jinja, ToJsonMatchesJsonDumps) {
  const ojson x = {{"b", {1, 2.5, {{"c", nullptr}}}}, {"a", "é\"\n\t\x01"}, {"e", ojson::array()}, {"f", ojson::object()}, {"t", true}};
  EXPECT_EQ(render("{{ x | tojson }}", {{"x", x}}),
            R"({"b": [1, 2.5, {"c": null}], "a": "é\"\n\t\u0001", "e": [], "f": {}, "t": true})");
  EXPECT_EQ(render("{{ x | tojson(indent=2) }}", {{"x", {{"k", {1, ojson::object()}}}}}),
            "{\n  \"k\": [\n    1,\n    {}\n  ]\n}");
  EXPECT_EQ(render("{{ x | tojson(separators=(',', ':')) }}", {{"x", {{"a", {1, 2}}}}}), R"({"a":[1,2]})");
  EXPECT_EQ(render("{{ x | tojson(sort_keys=true) }}", {{"x", {{"b", 1}, {"a", 2}}}}), R"({"a": 2, "b": 1})");
  EXPECT_EQ(render("{{ x | tojson }}", {{"x", {1.5, 2.0, 1e100, 123456789012345678, "</script>&'"}}}),
            R"([1.5, 2.0, 1e+100, 123456789012345678, "</script>&'"])");
}

TEST(Jinja, StringAndDictMethods) {
  EXPECT_EQ(render("{{ ' x '.strip() }}|{{ 'xax'.strip('x') }}|{{ '  x'.lstrip() }}|{{ 'x  '.rstrip() }}|"
                   "{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a,b,c'.split(',', 1) }}"),
            "x|a|x|x|['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b,c']");
  EXPECT_EQ(render("{{ 'hello'.startswith('he') }} {{ 'hello'.endswith('lo') }} {{ 'hello'.startswith(('x', 'h')) }} "
                   "{{ 'Hi'.upper() }} {{ 'Hi'.lower() }} {{ 'a b'.title() }} {{ 'aXb'.replace('X', '-') }}"),
            "True True True HI hi A B a-b");
  EXPECT_EQ(render("{{ '{} and {}'.format(1, 'b') }} {{ '{0}{0}'.format('x') }} {{ '{name}!'.format(name='N') }} "
                   "{{ ', '.join(['a','b']) }} {{ '%s-%d' % ('a', 3) }} {{ '%s, %s!' | format('a', 1) }}"),
            "1 and b xx N! a, b a-3 a, 1!");
  EXPECT_EQ(render("{{ 'abc'.find('c') }} {{ 'abcabc'.count('b') }} {{ 'a\\nb'.splitlines() }}"), "2 2 ['a', 'b']");
  EXPECT_EQ(render("{{ x.content.split('</think>')[-1].lstrip('\\n') }}", {{"x", {{"content", "<think>r</think>\n\nans"}}}}),
            "ans");
  EXPECT_EQ(render("{{ 'Übersetze 你好 🎉' | upper }} {{ '🎉x'[1] }} {{ 'ÄÖ' | lower }} {{ '\u3000x\u3000' | trim }}"),
            "ÜBERSETZE 你好 🎉 x äö x");
  EXPECT_NE(error_of("{{ 'x'.nope() }}").find("'str' object has no method 'nope'"), std::string::npos);
}

TEST(Jinja, Globals) {
  EXPECT_EQ(render("{{ range(3) | list }} {{ range(1, 10, 3) | list }} {{ range(5, 0, -2) | list }}"),
            "[0, 1, 2] [1, 4, 7] [5, 3, 1]");
  EXPECT_EQ(render("{% set d = {'a': 1} %}{{ d }}{{ dict(a=1, b=2) }}"), "{'a': 1}{'a': 1, 'b': 2}");
  RenderOptions opt;
  opt.now = std::tm{};
  opt.now->tm_year = 124;
  opt.now->tm_mon = 6;
  opt.now->tm_mday = 26;
  EXPECT_EQ(render("{{ strftime_now('%d %b %Y') }}", ojson::object(), opt), "26 Jul 2024");
  EXPECT_EQ(error_of("{{ raise_exception('Bad role') }}"), "[jinja] line 1 col 4: template raised an error: Bad role");
}

TEST(Jinja, ErrorsNameLineAndColumn) {
  EXPECT_EQ(error_of("line one\nline two\n{{ messages | foo }}"), "[jinja] line 3 col 15: unsupported filter 'foo'");
  EXPECT_EQ(error_of("{{ x is frobbed }}"), "[jinja] line 1 col 6: unsupported test 'frobbed'");
  EXPECT_EQ(error_of("a\n  {% include 'x' %}"), "[jinja] line 2 col 6: unsupported tag 'include'");
  EXPECT_EQ(error_of("{% if true %}no end"), "[jinja] line 1 col 14: unexpected end of template, expected 'elif'");
  EXPECT_EQ(error_of("{{ 1 }"), "[jinja] line 1 col 1: unexpected end of template, expected '}}'");
  EXPECT_EQ(error_of("{{ 1 ) }}"), "[jinja] line 1 col 6: expected end of print statement '}}', got ')'");
  EXPECT_EQ(error_of("{# never closed"), "[jinja] line 1 col 1: missing end of comment tag '#}'");
  EXPECT_EQ(error_of("{{ 'abc }}"), "[jinja] line 1 col 4: unterminated string literal");
  EXPECT_EQ(error_of("{% endfor %}"), "[jinja] line 1 col 4: unexpected 'endfor' tag");
  EXPECT_EQ(error_of("{{ foo() }}"), "[jinja] line 1 col 4: 'foo' is undefined (or not a supported function)");
  EXPECT_EQ(error_of("{{ x @ y }}"), "[jinja] line 1 col 6: unexpected character '@'");
  EXPECT_EQ(error_of("{% for x in [1] recursive %}{% endfor %}"),
            "[jinja] line 1 col 17: recursive for loops are not supported");
  EXPECT_EQ(error_of("{{ 'abc' | center('x') }}"), "[jinja] line 1 col 12: expected an integer, got 'str'");
  EXPECT_EQ(error_of("{{ x }}", {{"x", 1}}), "");
}

TEST(Jinja, LimitsStopHostileTemplates) {
  RenderOptions small;
  small.limits.max_steps = 100'000;
  EXPECT_NE(error_of("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", ojson::object(), small)
                .find("work limit"),
            std::string::npos);
  EXPECT_NE(error_of("{{ range(1000000000) | length }}").find("exceeds the limit"), std::string::npos);
  EXPECT_NE(error_of("{{ 'x' * 1000000000 }}").find("exceeds the limit"), std::string::npos);
  EXPECT_NE(error_of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").find("macro calls nested deeper"),
            std::string::npos);
  EXPECT_NE(error_of("{% set ns = namespace(a=1) %}{% set ns.a = ns %}").find("cannot hold another namespace"),
            std::string::npos);
  EXPECT_NE(error_of("{% set ns = namespace(s='xxxxxxxxxxxxxxxx') %}{% for i in range(40) %}"
                     "{% set ns.s = ns.s ~ ns.s %}{% endfor %}")
                .find("exceeds the limit"),
            std::string::npos);
  RenderOptions tiny;
  tiny.limits.max_output_bytes = 1000;
  EXPECT_NE(error_of("{% for i in range(2000) %}x{% endfor %}", ojson::object(), tiny).find("output exceeds"),
            std::string::npos);
  // Deep nesting is refused at parse time instead of overflowing the stack.
  EXPECT_NE(error_of("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}").find("nested deeper"), std::string::npos);
  EXPECT_NE(error_of("{{ " + std::string(5000, '[') + std::string(5000, ']') + " }}").find("nested deeper"),
            std::string::npos);
  std::string chain = "{{ 1";
  for (int i = 0; i < 5000; ++i) chain += " + 1";
  EXPECT_NE(error_of(chain + " }}").find("nested deeper"), std::string::npos);
  std::string ifs;
  for (int i = 0; i < 2000; ++i) ifs += "{% if true %}";
  EXPECT_NE(error_of(ifs).find("nested deeper"), std::string::npos);
  std::string nested_list = "{% set ns = namespace(x=[]) %}{% for i in range(2000) %}{% set ns.x = [ns.x] %}{% endfor %}";
  EXPECT_NE(error_of(nested_list).find("nested deeper"), std::string::npos);
}

TEST(Jinja, MalformedInputNeverCrashes) {
  // Every prefix of a real-looking template either renders or fails with slm::Error.
  const std::string tpl =
      "{%- set ns = namespace(n=0) %}{% for m in messages if m.role != 'x' %}{{- '<|' ~ m['role'] | upper ~ '|>' }}"
      "{% if m.content is string %}{{ m.content[::-1] | trim }}{% elif m.content %}{{ m.content | tojson(indent=2) }}"
      "{% endif %}{% set ns.n = ns.n + loop.index %}{# note #}{% endfor %}{{ ns.n }}{% raw %}{{x}}{% endraw %}";
  const ojson vars = {{"messages", {{{"role", "user"}, {"content", " hi "}}, {{"role", "tool"}, {"content", {1, 2}}}}}};
  int rendered = 0;
  for (size_t n = 0; n <= tpl.size(); ++n) {
    try {
      render(tpl.substr(0, n), vars);
      ++rendered;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("[jinja]", 0), 0u) << e.what();
    }
  }
  EXPECT_GT(rendered, 5);
  EXPECT_EQ(render(tpl, vars), "<|USER|>ih<|TOOL|>[\n  1,\n  2\n]3{{x}}");
}

}  // namespace
}  // namespace slm::jinja

namespace slm {
namespace {

using ojson = nlohmann::ordered_json;

TEST(ChatTemplate, FromHfConfigStringListAndTokenObjects) {
  const ojson cfg = {{"chat_template", "{{ bos_token }}{% for m in messages %}{{ m.role }}:{{ m.content }};{% endfor %}{{ eos_token }}"},
                     {"bos_token", {{"content", "<s>"}, {"lstrip", false}}},
                     {"eos_token", "</s>"}};
  const ChatTemplate t = ChatTemplate::from_hf_config(cfg);
  EXPECT_EQ(t.bos_token(), "<s>");
  EXPECT_EQ(t.render(ojson::parse(R"([{"role":"user","content":"hi"}])"), false), "<s>user:hi;</s>");

  const ojson list_cfg = {{"chat_template", {{{"name", "default"}, {"template", "D{{ messages | length }}"}},
                                             {{"name", "tool_use"}, {"template", "T{{ tools | length }}"}}}},
                          {"eos_token", nullptr}};
  EXPECT_EQ(ChatTemplate::from_hf_config(list_cfg).render(ojson::array(), false), "D0");
  EXPECT_EQ(ChatTemplate::from_hf_config(list_cfg, "tool_use").render(ojson::array(), false, {{"tools", {1, 2}}}), "T2");
  EXPECT_THROW(ChatTemplate::from_hf_config(list_cfg, "missing"), Error);
  EXPECT_THROW(ChatTemplate::from_hf_config(ojson{{"bos_token", "<s>"}}), Error);
  // A token that is not passed is undefined in the template (transformers leaves it out).
  EXPECT_EQ(ChatTemplate::from_hf_config(list_cfg).eos_token(), std::nullopt);
  const ojson undef_cfg = {{"chat_template", "{{ eos_token is defined }}"}};
  EXPECT_EQ(ChatTemplate::from_hf_config(undef_cfg).render(ojson::array(), false), "False");
}

TEST(ChatTemplate, FromGgufMetadata) {
  gguf::Writer w;
  w.add_kv("tokenizer.chat_template", gguf::Value{std::string("{{ bos_token }}[{{ messages[0].content }}]{{ eos_token }}")});
  w.add_kv("tokenizer.chat_template.rag", gguf::Value{std::string("rag:{{ documents }}")});
  gguf::Array tokens;
  tokens.elem_type = gguf::ValueType::string;
  for (const char* s : {"<unk>", "<s>", "</s>", "a"}) tokens.items.push_back(gguf::Value{std::string(s)});
  w.add_kv("tokenizer.ggml.tokens", gguf::Value{tokens});
  w.add_kv("tokenizer.ggml.bos_token_id", gguf::Value{uint32_t(1)});
  w.add_kv("tokenizer.ggml.eos_token_id", gguf::Value{uint32_t(2)});
  const std::vector<uint8_t> bytes = w.to_bytes();
  const gguf::File f = gguf::File::parse(bytes);
  const ChatTemplate t = ChatTemplate::from_gguf(f);
  EXPECT_EQ(t.render(ojson::parse(R"([{"role":"user","content":"x"}])"), true), "<s>[x]</s>");
  EXPECT_EQ(ChatTemplate::from_gguf(f, "rag").render(ojson::array(), false), "rag:None");
  EXPECT_THROW(ChatTemplate::from_gguf(f, "nope"), Error);
}

TEST(ChatTemplate, ContentPartsAreJoinedUnlessTheTemplateHandlesThem) {
  const ojson msgs = ojson::parse(R"([{"role":"user","content":[{"type":"text","text":"one"},{"type":"text","text":"two"}]}])");
  const ChatTemplate plain("{% for m in messages %}{{ m.role + ': ' + m.content }}{% endfor %}", "<s>", "</s>");
  EXPECT_FALSE(plain.supports_content_parts());
  EXPECT_EQ(plain.render(msgs, false), "user: one\ntwo");
  const ChatTemplate parts(
      "{% for m in messages %}{% if m.content is string %}{{ m.content }}{% else %}{% for p in m.content %}"
      "<{{ p.text }}>{% endfor %}{% endif %}{% endfor %}",
      "<s>", "</s>");
  EXPECT_TRUE(parts.supports_content_parts());
  EXPECT_EQ(parts.render(msgs, false), "<one><two>");
  EXPECT_THROW(plain.render(ojson::parse(R"([{"role":"user","content":[{"type":"image_url","image_url":{}}]}])"), false),
               Error);
}

TEST(ChatTemplate, ToolCallArgumentsAndBadMessages) {
  const ChatTemplate t("{% for m in messages %}{% for c in m.tool_calls %}{{ c.function.arguments | tojson }}"
                       "{{ c.function.arguments.city }}{% endfor %}{% endfor %}",
                       std::nullopt, std::nullopt);
  const ojson msgs = ojson::parse(
      R"([{"role":"assistant","content":null,"tool_calls":[{"type":"function","function":{"name":"w","arguments":"{\"city\": \"Paris\"}"}}]}])");
  EXPECT_EQ(t.render(msgs, false), R"({"city": "Paris"}Paris)");
  EXPECT_THROW(t.render(ojson::parse(R"({"role":"user"})"), false), Error);
  EXPECT_THROW(t.render(ojson::parse(R"([{"content":"x"}])"), false), Error);
  EXPECT_THROW(t.render(ojson::array(), false, ojson::array()), Error);
}

}  // namespace
}  // namespace slm
