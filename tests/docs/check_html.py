#!/usr/bin/env python3
"""check_html.py - checks the API reference as a reader sees it, for the
faults that Doxygen does not warn about:
  - the main page is the README (not an empty page);
  - every enum lists its values (not only *_FORCE_U32), and in the headers
    named by --strict every value has a description;
  - no description shows a stray backslash (a macro continued over lines);
  - no brief is a section banner ("---- ...") or is cut inside parentheses
    (a brief ends at the first ". ", so "0 .. n" must not end it);
  - the JSON dump's layout is a preformatted block, not a paragraph, and
    no preformatted block shows the comment's leading stars;
  - in the headers named by --strict, every function with parameters has a
    parameter table naming each of them, and every non-void one a return
    section.
  check_html.py HTML_DIR [--strict FILE.h ...]
Prints one line per fault and "N passed, N failed" (one check per page);
exits 1 on any fault."""
import html
import os
import re
import sys


def text(fragment):
    """The visible text of an HTML fragment."""
    fragment = re.sub(r"<[^>]+>", "", fragment)
    return html.unescape(fragment).replace("\xa0", " ")


def page_name(header):
    """Doxygen's page for a header: orderly_vk.h -> orderly__vk_8h.html."""
    return header.replace("_", "__").replace(".", "_8") + ".html"


def check_main(out, faults):
    path = os.path.join(out, "index.html")
    body = open(path, encoding="utf-8").read()
    contents = re.search(r'<div class="contents">(.*)', body, re.S)
    words = text(contents.group(1)) if contents else ""
    if "suballocates GPU buffers" not in words or "Quick start" not in words:
        faults.append("index.html: the main page is not the README")
    if "mesh-stream.png" in body and not os.path.exists(os.path.join(out, "mesh-stream.png")):
        faults.append("index.html: the README's picture was not copied")


def check_header(out, header, strict, faults):
    path = os.path.join(out, page_name(header))
    if not os.path.exists(path):
        faults.append(f"{header}: no page {page_name(header)}")
        return
    body = open(path, encoding="utf-8").read()
    where = header
    # Briefs in the summary tables.
    for brief in re.findall(r'<td class="mdescRight">(.*?)</td>', body, re.S):
        b = text(brief).strip()
        if re.match(r"[-\u2013\u2014]{2,}", b):  # "----" renders as "-\u2014"
            faults.append(f"{where}: a section banner is a brief: {b[:60]!r}")
        # Half-open ranges "[0, capacity)" close a "[" with ")".
        if b.count("(") + b.count("[") != b.count(")") + b.count("]"):
            faults.append(f"{where}: a brief is cut inside parentheses: {b[:80]!r}")
    # Detailed documentation of each member.
    for item in body.split('<div class="memitem">')[1:]:
        proto = re.search(r'<div class="memproto">(.*?)</div><div class="memdoc">', item, re.S)
        doc = item[proto.end():] if proto else item
        name = re.search(r'<td class="memname">(.*?)</td>', item, re.S)
        name = re.sub(r"\s+", " ", text(name.group(1))).strip() if name else "?"
        visible = text(re.sub(r"<pre.*?</pre>|<code>.*?</code>", "", doc, flags=re.S))
        if "\\" in visible:
            faults.append(f"{where}: {name}: a stray backslash in its description")
        for pre in re.findall(r"<pre.*?</pre>", doc, re.S):
            if re.search(r"^\s*\*", text(pre), re.M):
                faults.append(f"{where}: {name}: comment stars inside a preformatted block")
        if '{"' in text(doc) and '{"' not in " ".join(text(p) for p in re.findall(r"<pre.*?</pre>", doc, re.S)):
            faults.append(f"{where}: {name}: a JSON layout runs into a paragraph")
        if name.startswith("enum "):
            values = re.findall(
                r'<td class="fieldname">(.*?)</td><td class="fielddoc">(.*?)</td>', doc, re.S)
            real = [(text(n).strip(), text(d).strip()) for n, d in values
                    if not text(n).strip().endswith("_FORCE_U32")]
            if not real:
                faults.append(f"{where}: {name}: lists no value but *_FORCE_U32")
            if strict:
                for n, d in real:
                    if not d:
                        faults.append(f"{where}: {name}: value {n} has no description")
        if strict and re.search(r'<td class="paramname">', proto.group(1) if proto else ""):
            params = [text(p).strip().rstrip(",").strip()
                      for p in re.findall(r'<td class="paramname">(.*?)</td>', proto.group(1), re.S)]
            params = [re.sub(r"[^A-Za-z0-9_].*$", "", p.split()[-1]) if p else p for p in params]
            params = [p for p in params if p]
            is_function = "(" in text(proto.group(1)) and not name.startswith("#define")
            if params and is_function and "typedef" not in name:
                table = re.search(r'<dl class="params">(.*?)</dl>', doc, re.S)
                listed = set()
                if table:
                    listed = {text(n).strip() for n in
                              re.findall(r'<td class="paramname">(.*?)</td>', table.group(1), re.S)}
                missing = [p for p in params if p not in listed]
                if missing:
                    faults.append(f"{where}: {name}: no parameter table entry for {', '.join(missing)}")
                if not re.match(r"\s*void\s+\w+\s*$", name) and \
                        '<dl class="section return">' not in doc:
                    faults.append(f"{where}: {name}: no return section")


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    out = argv[1]
    headers = ["orderly.h", "orderly_vk.h"]
    strict = set(argv[argv.index("--strict") + 1:]) if "--strict" in argv else set()
    passed = failed = 0
    pages = [("index.html", lambda f: check_main(out, f))]
    for h in headers:
        if os.path.exists(os.path.join(out, page_name(h))) or h in strict or h == "orderly.h":
            pages.append((h, lambda f, h=h: check_header(out, h, h in strict, f)))
    for name, check in pages:
        faults = []
        check(faults)
        for f in faults:
            print("docs:", f)
        if faults:
            failed += 1
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
