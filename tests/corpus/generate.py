#!/usr/bin/env python3
"""Writes the feed corpus of tests/corpus.rs: small feed files, one per case, each with a TOML
sidecar of what a liberal reader takes out of it (title, link, published; the poll's warning or
error). Run from the project root: python3 tests/corpus/generate.py

The files are what the test reads; this script is how they were written. Change a case here and
run it again (it rewrites tests/corpus/*/ from scratch), or edit a file and its sidecar by hand."""
import json, os, shutil, sys

OUT = "tests/corpus"
CASES = []
ORIGIN = "{origin}"  # replaced by the test server's origin at test time


def case(cat, name, body, entries, about, ext="xml", ct=None, headers=None, poll=None, error=None):
    if isinstance(body, str):
        body = body.encode("utf-8")
    CASES.append(dict(cat=cat, name=name, body=body, entries=entries, about=about, ext=ext, ct=ct,
                      headers=headers or {}, poll=poll, error=error))


def L(cat, name, n=1):
    return f"http://corpus.test/{cat}/{name}/{n}"


def E(title, link=None, published=None):
    return dict(title=title, link=link, published=published)


D1 = "Mon, 16 Nov 2026 09:30:00 GMT"
D1Z = "2026-11-16T09:30:00Z"
D2 = "Tue, 17 Nov 2026 10:00:00 +0900"
D2Z = "2026-11-17T01:00:00Z"
D3Z = "2026-11-18T12:00:00Z"


def rss_item(title=None, link=None, guid=None, date=None, desc=None, extra=""):
    s = "<item>"
    if title is not None:
        s += f"<title>{title}</title>"
    if link is not None:
        s += f"<link>{link}</link>"
    if guid is not None:
        s += guid if guid.startswith("<guid") else f"<guid>{guid}</guid>"
    if date is not None:
        s += f"<pubDate>{date}</pubDate>"
    if desc is not None:
        s += f"<description>{desc}</description>"
    return s + extra + "</item>"


def rss(items, version='version="2.0"', attrs="", decl='<?xml version="1.0" encoding="utf-8"?>\n', channel_extra=""):
    return (f'{decl}<rss {version}{attrs}><channel><title>Corpus</title><link>http://corpus.test/</link>'
            f'<description>d</description>{channel_extra}\n' + "\n".join(items) + "\n</channel></rss>\n")


def atom_entry(title, link_xml, id_, updated=None, published=None, extra=""):
    s = f"<entry><title>{title}</title>{link_xml}<id>{id_}</id>"
    if published:
        s += f"<published>{published}</published>"
    if updated:
        s += f"<updated>{updated}</updated>"
    return s + extra + "</entry>"


def atom(entries, ns='xmlns="http://www.w3.org/2005/Atom"', attrs=""):
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<feed {ns}{attrs}><title>Corpus</title><id>urn:corpus</id>'
            f'<updated>{D3Z}</updated>\n' + "\n".join(entries) + "\n</feed>\n")


def std_rss(cat, name, n=2, **kw):
    """n plain items; returns (items, expected)."""
    items, exp = [], []
    for i in range(1, n + 1):
        items.append(rss_item(f"{name} story {i}", L(cat, name, i), f"{cat}-{name}-{i}", D1))
        exp.append(E(f"{name} story {i}", L(cat, name, i), D1Z))
    return items, exp


# ---------------------------------------------------------------- rss-versions
C = "rss-versions"
case(C, "rss090", '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
     'xmlns="http://my.netscape.com/rdf/simple/0.9/"><channel><title>Corpus</title><link>http://corpus.test/</link>'
     '<description>d</description></channel>'
     f'<item><title>RSS 0.90 first</title><link>{L(C,"rss090",1)}</link></item>'
     f'<item><title>RSS 0.90 second</title><link>{L(C,"rss090",2)}</link></item></rdf:RDF>\n',
     [E("RSS 0.90 first", L(C, "rss090", 1)), E("RSS 0.90 second", L(C, "rss090", 2))],
     "RSS 0.90: RDF with Netscape's namespace, items beside the channel")
case(C, "rss091-netscape", '<?xml version="1.0" encoding="ISO-8859-1"?>\n<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
     '"http://my.netscape.com/publish/formats/rss-0.91.dtd">\n' + rss(
         [rss_item("Netscape 0.91 item", L(C, "rss091-netscape"), desc="Plain &amp; simple")], 'version="0.91"', decl=""),
     [E("Netscape 0.91 item", L(C, "rss091-netscape"))], "RSS 0.91 (Netscape) with its DOCTYPE")
case(C, "rss091-userland", rss([rss_item("Userland 0.91 item", L(C, "rss091-userland"), date=D1)], 'version="0.91"'),
     [E("Userland 0.91 item", L(C, "rss091-userland"), D1Z)], "RSS 0.91 (Userland) with a pubDate")
case(C, "rss092", rss([rss_item("RSS 0.92 item", L(C, "rss092"), desc="with &lt;b&gt;HTML&lt;/b&gt;",
                                extra='<enclosure url="http://corpus.test/a.mp3" length="1" type="audio/mpeg"/>')], 'version="0.92"'),
     [E("RSS 0.92 item", L(C, "rss092"))], "RSS 0.92 with an enclosure (not the link)")
case(C, "rss093", rss([rss_item("RSS 0.93 item", L(C, "rss093"), date=D1)], 'version="0.93"'),
     [E("RSS 0.93 item", L(C, "rss093"), D1Z)], "RSS 0.93: a version feed-rs does not know")
case(C, "rss094", rss([rss_item("RSS 0.94 item", L(C, "rss094"), guid="rss094-1", date=D1)], 'version="0.94"'),
     [E("RSS 0.94 item", L(C, "rss094"), D1Z)], "RSS 0.94: a version feed-rs does not know")
case(C, "rss10", '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
     'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
     '<channel rdf:about="http://corpus.test/"><title>Corpus</title><link>http://corpus.test/</link><description>d</description>'
     '<items><rdf:Seq><rdf:li resource="x"/></rdf:Seq></items></channel>'
     f'<item rdf:about="{L(C,"rss10",1)}"><title>RSS 1.0 item</title><link>{L(C,"rss10",1)}</link><dc:date>{D1Z}</dc:date></item>'
     '</rdf:RDF>\n', [E("RSS 1.0 item", L(C, "rss10", 1), D1Z)], "RSS 1.0 with dc:date")
it, ex = std_rss(C, "rss20", 3)
case(C, "rss20", rss(it), ex, "RSS 2.0, plain")
it, ex = std_rss(C, "no-version", 15)
case(C, "no-version", rss(it, version=""), ex, "<rss> without a version attribute: 15 entries (a real Brazilian feed lost them all)")
it, ex = std_rss(C, "empty-version")
case(C, "empty-version", rss(it, version='version=""'), ex, "<rss version=\"\">")
it, ex = std_rss(C, "version-21")
case(C, "version-21", rss(it, version='version="2.01"'), ex, "an unknown RSS version")
it, ex = std_rss(C, "userland-ns")
case(C, "userland-ns", rss(it, attrs=' xmlns="http://backend.userland.com/rss2"'), ex,
     "RSS 2.0 in Userland's default namespace")
it, ex = std_rss(C, "harvard-ns")
case(C, "harvard-ns", rss(it, attrs=' xmlns="http://blogs.law.harvard.edu/tech/rss"'), ex,
     "RSS 2.0 in Harvard's default namespace")
case(C, "userland-ns-cp1251",
     rss([rss_item("Новости Украины", L(C, "userland-ns-cp1251"), date=D1)],
         attrs=' xmlns="http://backend.userland.com/rss2"',
         decl='<?xml version="1.0" encoding="windows-1251"?>\n').encode("cp1251"),
     [E("Новости Украины", L(C, "userland-ns-cp1251"), D1Z)], "Userland namespace in windows-1251 (a real Russian feed)")
it, ex = std_rss(C, "uppercase-version")
case(C, "uppercase-version", rss(it, version='version="2.0" '), ex, "version with trailing space in the tag")

# ---------------------------------------------------------------- atom
C = "atom"
def alt(href, extra=""):
    return f'<link rel="alternate" type="text/html" href="{href}"{extra}/>'
case(C, "atom10", atom([atom_entry("Atom 1.0 entry", alt(L(C, "atom10", 1)), "urn:a10:1", D3Z, D1Z),
                        atom_entry("Atom 1.0 second", f'<link href="{L(C,"atom10",2)}"/>', "urn:a10:2", D2Z)]),
     [E("Atom 1.0 entry", L(C, "atom10", 1), D1Z), E("Atom 1.0 second", L(C, "atom10", 2), D2Z)], "Atom 1.0")
case(C, "no-namespace", atom([atom_entry("No namespace", alt(L(C, "no-namespace")), "urn:nn:1", D1Z)], ns=""),
     [E("No namespace", L(C, "no-namespace"), D1Z)], "Atom without its namespace")
case(C, "prefixed", '<?xml version="1.0"?>\n<a:feed xmlns:a="http://www.w3.org/2005/Atom"><a:title>t</a:title><a:id>urn:p</a:id>'
     f'<a:updated>{D3Z}</a:updated><a:entry><a:title>Prefixed entry</a:title><a:link href="{L(C,"prefixed")}"/>'
     f'<a:id>urn:p:1</a:id><a:updated>{D1Z}</a:updated></a:entry></a:feed>\n',
     [E("Prefixed entry", L(C, "prefixed"), D1Z)], "Atom with a prefix on every element")
A03 = 'xmlns="http://purl.org/atom/ns#" version="0.3"'
case(C, "atom03", atom([f'<entry><title>Atom 0.3 entry</title>{alt(L(C,"atom03"))}<id>tag:c,2004:1</id>'
                        f'<issued>2004-01-02T10:00:00Z</issued><modified>2004-01-03T10:00:00Z</modified>'
                        f'<created>2004-01-01T10:00:00Z</created><summary>Old format</summary></entry>'], ns=A03),
     [E("Atom 0.3 entry", L(C, "atom03"), "2004-01-02T10:00:00Z")], "Atom 0.3: issued, modified, created")
case(C, "atom03-escaped", atom([f'<entry><title>Escaped 0.3</title>{alt(L(C,"atom03-escaped"))}<id>tag:c,2004:2</id>'
                                f'<modified>2004-02-03T10:00:00Z</modified>'
                                f'<content type="text/html" mode="escaped">&lt;p&gt;Hello&lt;/p&gt;</content></entry>'], ns=A03),
     [E("Escaped 0.3", L(C, "atom03-escaped"), "2004-02-03T10:00:00Z")], "Atom 0.3 escaped HTML content, modified only")
case(C, "atom03-base64", atom([f'<entry><title>Base64 0.3</title>{alt(L(C,"atom03-base64",1))}<id>tag:c,2004:3</id>'
                               f'<issued>2004-01-02T10:00:00Z</issued>'
                               f'<content type="text/plain" mode="base64">SGVsbG8=</content></entry>',
                               f'<entry><title>Beside base64</title>{alt(L(C,"atom03-base64",2))}<id>tag:c,2004:4</id>'
                               f'<issued>2004-01-02T11:00:00Z</issued></entry>'], ns=A03),
     [E("Base64 0.3", L(C, "atom03-base64", 1), "2004-01-02T10:00:00Z"),
      E("Beside base64", L(C, "atom03-base64", 2), "2004-01-02T11:00:00Z")], "Atom 0.3 base64 content")
case(C, "atom03-tagline", atom([f'<entry><title mode="escaped" type="text/html">Tagged &amp;lt;0.3&amp;gt;</title>'
                                f'{alt(L(C,"atom03-tagline"))}<id>tag:c,2004:5</id><issued>2004-01-02T10:00:00Z</issued></entry>'],
                               ns=A03, attrs=""),
     [E("Tagged <0.3>", L(C, "atom03-tagline"), "2004-01-02T10:00:00Z")], "Atom 0.3 escaped HTML title")
def odd_type(name, elem, title):
    good1 = atom_entry(f"{name} good before", alt(L(C, name, 1)), f"urn:{name}:1", D1Z)
    odd = atom_entry(title, alt(L(C, name, 2)), f"urn:{name}:2", D1Z, extra=elem)
    good2 = atom_entry(f"{name} good after", alt(L(C, name, 3)), f"urn:{name}:3", D1Z)
    case(C, name, atom([good1, odd, good2]),
         [E(f"{name} good before", L(C, name, 1), D1Z), E(title, L(C, name, 2), D1Z), E(f"{name} good after", L(C, name, 3), D1Z)],
         f"one entry with {elem[:60]} among good ones")
odd_type("type-empty", '<content type="">text body</content>', "Empty type")
odd_type("type-xhtml-mime", '<summary type="application/xhtml+xml"><div xmlns="http://www.w3.org/1999/xhtml">Hi <b>there</b></div></summary>', "XHTML by MIME")
odd_type("type-text-plain", '<content type="text/plain">plain text</content>', "Text by MIME")
odd_type("type-text-html", '<content type="text/html">&lt;p&gt;html&lt;/p&gt;</content>', "HTML by MIME")
odd_type("type-octet-stream", '<content type="application/octet-stream">SGVsbG8gd29ybGQ=</content>', "Binary content")
odd_type("type-image", '<content type="image/png">iVBORw0KGgo=</content>', "Image content")
odd_type("type-src-bogus", '<content type="not a type" src="http://corpus.test/x"/>', "Content elsewhere")
odd_type("type-xhtml-no-div", '<content type="xhtml">no div here</content>', "XHTML without a div")
odd_type("type-unknown-title", '<summary type="weird">summary</summary>', "Unknown summary type")
case(C, "title-type-html", atom([atom_entry('<![CDATA[HTML <em>title</em> &amp; more]]>', alt(L(C, "title-type-html")), "urn:th:1", D1Z)]).replace("<title><![CDATA", '<title type="html"><![CDATA'),
     [E("HTML title & more", L(C, "title-type-html"), D1Z)], "title type=html in CDATA")
case(C, "title-type-xhtml", atom([atom_entry('<div xmlns="http://www.w3.org/1999/xhtml">XHTML <b>title</b></div>', alt(L(C, "title-type-xhtml")), "urn:tx:1", D1Z)]).replace('<title><div', '<title type="xhtml"><div'),
     [E("XHTML title", L(C, "title-type-xhtml"), D1Z)], "title type=xhtml")
case(C, "single-entry", f'<?xml version="1.0"?>\n<entry xmlns="http://www.w3.org/2005/Atom"><title>Lone entry</title>'
     f'<link href="{L(C,"single-entry")}"/><id>urn:lone</id><updated>{D1Z}</updated></entry>\n',
     [E("Lone entry", L(C, "single-entry"), D1Z)], "an Atom entry document")

# ---------------------------------------------------------------- json
C = "json"
def jf(items, version="https://jsonfeed.org/version/1.1", title="Corpus", extra=None):
    d = {"version": version, "items": items}
    if title is not None:
        d["title"] = title
    if extra:
        d.update(extra)
    return json.dumps(d, ensure_ascii=False, indent=1)
case(C, "jsonfeed11", jf([{"id": "j11-1", "title": "JSON 1.1 item", "url": L(C, "jsonfeed11"), "date_published": D1Z,
                           "content_html": "<p>Body</p>"}]),
     [E("JSON 1.1 item", L(C, "jsonfeed11"), D1Z)], "JSON Feed 1.1", ext="json", ct="application/feed+json")
case(C, "jsonfeed10", jf([{"id": "j10-1", "title": "JSON 1.0 item", "url": L(C, "jsonfeed10"), "date_published": "2026-11-17T10:00:00+09:00",
                           "content_text": "Body"}], version="https://jsonfeed.org/version/1"),
     [E("JSON 1.0 item", L(C, "jsonfeed10"), D2Z)], "JSON Feed 1.0", ext="json", ct="application/json")
case(C, "numeric-id", jf([{"id": 42, "title": "Numeric id", "url": L(C, "numeric-id", 1)},
                          {"id": "s", "title": "String id", "url": L(C, "numeric-id", 2)}]),
     [E("Numeric id", L(C, "numeric-id", 1)), E("String id", L(C, "numeric-id", 2))], "an id given as a number", ext="json")
case(C, "http-version", jf([{"id": "h1", "title": "http version", "url": L(C, "http-version")}], version="http://jsonfeed.org/version/1"),
     [E("http version", L(C, "http-version"))], "version URL with http:", ext="json")
case(C, "no-feed-title", jf([{"id": "n1", "title": "No feed title", "url": L(C, "no-feed-title")}], title=None),
     [E("No feed title", L(C, "no-feed-title"))], "no top-level title", ext="json")
case(C, "item-not-object", jf([{"id": "o1", "title": "Object item", "url": L(C, "item-not-object")}, "junk", 7]),
     [E("Object item", L(C, "item-not-object"))], "items that are not objects", ext="json", poll="2 entries skipped (an item that is not an object)")
case(C, "relative-url", jf([{"id": "r1", "title": "Relative URL", "url": "/json/relative-url/1"}]),
     [E("Relative URL", ORIGIN + "/json/relative-url/1")], "a relative item URL", ext="json")
case(C, "external-url-only", jf([{"id": "e1", "title": "External only", "external_url": L(C, "external-url-only")}]),
     [E("External only", L(C, "external-url-only"))], "external_url without url", ext="json")
case(C, "no-title", jf([{"id": "t1", "url": L(C, "no-title"), "content_text": "A story without a title about the Self-Defense Forces"}]),
     [E("A story without a title about the Self-Defense Forces", L(C, "no-title"))], "an item without a title", ext="json")
case(C, "wrong-types", jf([{"id": "w1", "title": "Wrong types", "url": L(C, "wrong-types"), "tags": "not-a-list",
                            "author": "not-an-object", "attachments": [{"url": 1}], "date_published": D1Z}]),
     [E("Wrong types", L(C, "wrong-types"), D1Z)], "fields of the wrong type", ext="json")
case(C, "attachment-only", jf([{"id": "a1", "title": "Podcast episode", "attachments": [{"url": "http://corpus.test/e.mp3", "mime_type": "audio/mpeg"}]}]),
     [E("Podcast episode")], "an attachment is not the story's link", ext="json")
case(C, "truncated", '{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [{"id": "1", "title": "cut',
     [], "a truncated JSON document", ext="json", error="malformed feed: invalid JSON")
case(C, "not-a-feed", '{"status": "ok", "data": []}', [], "JSON that is no feed", ext="json", error="not a feed")

# ---------------------------------------------------------------- encodings
C = "encodings"
U = "Київ і 自衛隊 — café"
def enc_doc(title_text, decl_enc, n):
    decl = f'<?xml version="1.0" encoding="{decl_enc}"?>\n' if decl_enc else ""
    return rss([rss_item(title_text, L(C, n), date=D1)], decl=decl)
def enc_case(name, encoding, decl_enc, about, bom=b"", ct=None, title=U):
    body = bom + enc_doc(title, decl_enc, name).encode(encoding)
    case(C, name, body, [E(title, L(C, name), D1Z)], about, ct=ct)
enc_case("utf8", "utf-8", "utf-8", "UTF-8 declared")
enc_case("utf8-bom", "utf-8", "utf-8", "UTF-8 with a BOM", bom=b"\xef\xbb\xbf")
enc_case("utf8-no-decl", "utf-8", None, "UTF-8, no declaration")
enc_case("utf16le-bom", "utf-16-le", "UTF-16", "UTF-16LE with a BOM", bom=b"\xff\xfe")
enc_case("utf16be-bom", "utf-16-be", "UTF-16", "UTF-16BE with a BOM", bom=b"\xfe\xff")
enc_case("utf16le-no-bom", "utf-16-le", "UTF-16", "UTF-16LE without a BOM")
enc_case("utf16be-no-bom", "utf-16-be", "UTF-16", "UTF-16BE without a BOM (panicked in the XML reader)")
enc_case("utf16be-no-bom-no-decl", "utf-16-be", None, "UTF-16BE, no BOM, no declaration")
enc_case("utf16le-no-bom-no-decl", "utf-16-le", None, "UTF-16LE, no BOM, no declaration")
enc_case("utf32le-bom", "utf-32-le", "UTF-32", "UTF-32LE with a BOM", bom=b"\xff\xfe\x00\x00")
enc_case("utf32be-bom", "utf-32-be", "UTF-32", "UTF-32BE with a BOM", bom=b"\x00\x00\xfe\xff")
enc_case("utf32le-no-bom", "utf-32-le", "UTF-32", "UTF-32LE without a BOM")
enc_case("utf32be-no-bom", "utf-32-be", "UTF-32", "UTF-32BE without a BOM")
enc_case("utf16-http-only", "utf-16-le", None, "UTF-16LE with a BOM, charset only in HTTP", bom=b"\xff\xfe", ct="application/rss+xml; charset=utf-16")
CY = "Украина и НАТО"
enc_case("cp1251-decl", "cp1251", "windows-1251", "windows-1251 declared", title=CY)
enc_case("cp1251-http", "cp1251", None, "windows-1251 named only by HTTP", ct="application/rss+xml; charset=windows-1251", title=CY)
enc_case("cp1251-http-quoted", "cp1251", None, "HTTP charset in quotes", ct='text/xml; charset="windows-1251"', title=CY)
enc_case("cp1251-mixed-case", "cp1251", "Windows-1251", "label in mixed case", title=CY)
enc_case("koi8r-decl", "koi8_r", "KOI8-R", "KOI8-R declared", title=CY)
enc_case("latin1-decl", "latin-1", "ISO-8859-1", "ISO-8859-1 declared", title="Café Zürich à Genève")
enc_case("latin9-decl", "iso8859_15", "ISO-8859-15", "ISO-8859-15 declared", title="Prix en € à Paris")
enc_case("cp1252-no-decl", "cp1252", None, "windows-1252 with nothing declared: the fallback", title="“Smart quotes” – café")
enc_case("sjis-decl", "shift_jis", "Shift_JIS", "Shift_JIS declared", title="陸上自衛隊が演習")
enc_case("sjis-http", "shift_jis", None, "Shift_JIS named only by HTTP", ct="text/xml; charset=Shift_JIS", title="陸上自衛隊が演習")
enc_case("eucjp-decl", "euc_jp", "EUC-JP", "EUC-JP declared", title="航空自衛隊と NATO")
enc_case("iso2022jp-decl", "iso2022_jp", "ISO-2022-JP", "ISO-2022-JP declared", title="海上自衛隊")
enc_case("gbk-decl", "gbk", "GBK", "GBK declared", title="北约峰会")
enc_case("gb2312-decl", "gb2312", "GB2312", "GB2312 declared", title="北约峰会")
enc_case("big5-decl", "big5", "Big5", "Big5 declared", title="北約峰會")
enc_case("euckr-decl", "euc_kr", "EUC-KR", "EUC-KR declared", title="나토 정상회의")
case(C, "single-quoted-decl", rss([rss_item(CY, L(C, "single-quoted-decl"), date=D1)], decl="<?xml version='1.0' encoding='windows-1251'?>\n").encode("cp1251"),
     [E(CY, L(C, "single-quoted-decl"), D1Z)], "declaration in single quotes")
case(C, "utf8-declared-latin1-bytes-http", enc_doc("Café Zürich", "utf-8", "utf8-declared-latin1-bytes-http").encode("latin-1"),
     [E("Café Zürich", L(C, "utf8-declared-latin1-bytes-http"), D1Z)],
     "declares UTF-8, bytes are ISO-8859-1, HTTP says so", ct="text/xml; charset=iso-8859-1")
case(C, "utf8-declared-cp1252-bytes", enc_doc("“Quoted” café", "utf-8", "utf8-declared-cp1252-bytes").encode("cp1252"),
     [E("“Quoted” café", L(C, "utf8-declared-cp1252-bytes"), D1Z)],
     "declares UTF-8, bytes are windows-1252, nothing else said: windows-1252")
case(C, "http-utf8-bytes-sjis", enc_doc("自衛隊", "Shift_JIS", "http-utf8-bytes-sjis").encode("shift_jis"),
     [E("自衛隊", L(C, "http-utf8-bytes-sjis"), D1Z)],
     "HTTP says UTF-8, the declaration says Shift_JIS, the bytes agree with the declaration", ct="text/xml; charset=utf-8")
case(C, "http-latin1-bytes-utf8", enc_doc("Київ", "ISO-8859-1", "http-latin1-bytes-utf8").encode("utf-8"),
     [E("Київ", L(C, "http-latin1-bytes-utf8"), D1Z)],
     "HTTP and declaration say ISO-8859-1, the bytes are valid UTF-8: UTF-8", ct="text/xml; charset=iso-8859-1")
case(C, "decl-utf16-bytes-ascii", enc_doc("Mistaken UTF-16 label", "UTF-16", "decl-utf16-bytes-ascii").encode("ascii"),
     [E("Mistaken UTF-16 label", L(C, "decl-utf16-bytes-ascii"), D1Z)], "declares UTF-16, bytes are ASCII")
case(C, "unknown-label", enc_doc("Label nobody knows é", "x-made-up", "unknown-label").encode("cp1252"),
     [E("Label nobody knows é", L(C, "unknown-label"), D1Z)], "a charset label that names nothing: windows-1252")
case(C, "invalid-utf8-bytes", enc_doc("NATO ÿþ broken", "utf-8", "invalid-utf8-bytes").encode("utf-8").replace("ÿþ".encode(), b"\xff\xfe"),
     [E("NATO ÿþ broken", L(C, "invalid-utf8-bytes"), D1Z)], "bytes invalid in UTF-8: windows-1252, not U+FFFD")

# ---------------------------------------------------------------- namespaces
C = "namespaces"
DC = ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
MEDIA = ' xmlns:media="http://search.yahoo.com/mrss/"'
case(C, "dc-title", rss([f'<item><dc:title>Only a dc:title</dc:title><link>{L(C,"dc-title")}</link></item>'], attrs=DC),
     [E("Only a dc:title", L(C, "dc-title"))], "an item whose only title is dc:title")
case(C, "dc-title-entities", rss([f'<item><dc:title>NATO &amp; Japan</dc:title><link>{L(C,"dc-title-entities")}</link></item>'], attrs=DC),
     [E("NATO & Japan", L(C, "dc-title-entities"))], "dc:title with an entity")
case(C, "dc-title-and-title", rss([f'<item><title>The real title</title><dc:title>Not this</dc:title><link>{L(C,"dc-title-and-title")}</link></item>'], attrs=DC),
     [E("The real title", L(C, "dc-title-and-title"))], "title wins over dc:title")
case(C, "dc-date", rss([f'<item><title>Dated by dc</title><link>{L(C,"dc-date")}</link><dc:date>2026-11-17T10:00:00+09:00</dc:date></item>'], attrs=DC),
     [E("Dated by dc", L(C, "dc-date"), D2Z)], "dc:date instead of pubDate")
case(C, "dc10", rss([f'<item><dc:title>Dublin Core 1.0</dc:title><link>{L(C,"dc10")}</link><dc:date>{D1Z}</dc:date></item>'],
                    attrs=' xmlns:dc="http://purl.org/dc/elements/1.0/"'),
     [E("Dublin Core 1.0", L(C, "dc10"), D1Z)], "Dublin Core 1.0 namespace")
case(C, "dc-other-prefix", rss([f'<item><d:title>Any prefix</d:title><link>{L(C,"dc-other-prefix")}</link></item>'],
                               attrs=' xmlns:d="http://purl.org/dc/elements/1.1/"'),
     [E("Any prefix", L(C, "dc-other-prefix"))], "dc bound to another prefix")
case(C, "media-title", rss([f'<item><link>{L(C,"media-title")}</link><media:title>Only a media:title</media:title></item>'], attrs=MEDIA),
     [E("Only a media:title", L(C, "media-title"))], "an item whose only title is media:title")
case(C, "media-group-title", rss([f'<item><link>{L(C,"media-group-title")}</link><media:group><media:title>Grouped media title</media:title>'
                                  '<media:content url="http://corpus.test/v.mp4" type="video/mp4"/></media:group></item>'], attrs=MEDIA),
     [E("Grouped media title", L(C, "media-group-title"))], "media:title inside media:group")
case(C, "content-encoded", rss([f'<item><title>Encoded content</title><link>{L(C,"content-encoded")}</link>'
                                '<content:encoded><![CDATA[<p>Full <b>text</b></p>]]></content:encoded></item>'],
                               attrs=' xmlns:content="http://purl.org/rss/1.0/modules/content/"'),
     [E("Encoded content", L(C, "content-encoded"))], "content:encoded")
case(C, "rss1-about-no-link", '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
     'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="http://corpus.test/"><title>t</title><link>http://corpus.test/</link>'
     f'<description>d</description></channel><item rdf:about="{L(C,"rss1-about-no-link")}"><title>About, no link</title></item></rdf:RDF>\n',
     [E("About, no link", L(C, "rss1-about-no-link"))], "RSS 1.0 item with rdf:about and no link")
case(C, "rss1-prefixed", '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
     'xmlns:rss="http://purl.org/rss/1.0/"><rss:channel rdf:about="http://corpus.test/"><rss:title>t</rss:title></rss:channel>'
     f'<rss:item rdf:about="{L(C,"rss1-prefixed")}"><rss:title>Prefixed RSS 1.0</rss:title><rss:link>{L(C,"rss1-prefixed")}</rss:link></rss:item></rdf:RDF>\n',
     [E("Prefixed RSS 1.0", L(C, "rss1-prefixed"))], "RSS 1.0 with an rss: prefix")
case(C, "rss1-nothing", '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
     'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="http://corpus.test/"><title>t</title></channel>'
     f'<item rdf:about="{L(C,"rss1-nothing",1)}"><title>Readable</title></item>'
     '<item><description>No link, no about, no title</description></item></rdf:RDF>\n',
     [E("Readable", L(C, "rss1-nothing", 1))], "an RSS 1.0 item feed-rs drops (no link)", poll="1 entry skipped (no link)")
case(C, "itunes", rss([f'<item><title>Episode 12</title><link>{L(C,"itunes")}</link><itunes:duration>10:00</itunes:duration>'
                       '<enclosure url="http://corpus.test/ep12.mp3" length="1" type="audio/mpeg"/></item>'],
                      attrs=' xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'),
     [E("Episode 12", L(C, "itunes"))], "a podcast item")
case(C, "atom-in-rss", rss([f'<item><title>Atom link in RSS</title><link>{L(C,"atom-in-rss")}</link>'
                            '<atom:link rel="self" href="http://corpus.test/self"/></item>'],
                           attrs=' xmlns:atom="http://www.w3.org/2005/Atom"'),
     [E("Atom link in RSS", L(C, "atom-in-rss"))], "atom:link rel=self inside RSS")
case(C, "undeclared-prefix", rss([f'<item><title>Undeclared prefix</title><link>{L(C,"undeclared-prefix")}</link><foo:bar>x</foo:bar></item>']),
     [E("Undeclared prefix", L(C, "undeclared-prefix"))], "an element with an undeclared prefix")
case(C, "xhtml-body", rss([f'<item><title>XHTML body</title><link>{L(C,"xhtml-body")}</link>'
                           '<xhtml:body><xhtml:p>Body</xhtml:p></xhtml:body></item>'],
                          attrs=' xmlns:xhtml="http://www.w3.org/1999/xhtml"'),
     [E("XHTML body", L(C, "xhtml-body"))], "xhtml:body inside an item")

# ---------------------------------------------------------------- links
C = "links"
case(C, "guid-permalink", rss([rss_item("Permalink guid", guid=L(C, "guid-permalink"), date=D1)]),
     [E("Permalink guid", L(C, "guid-permalink"), D1Z)], "no link, a permalink guid (the RSS 2.0 spec's own sample)")
case(C, "guid-permalink-true", rss([rss_item("Explicit permalink", guid=f'<guid isPermaLink="true">{L(C,"guid-permalink-true")}</guid>')]),
     [E("Explicit permalink", L(C, "guid-permalink-true"))], "isPermaLink=\"true\"")
case(C, "guid-not-permalink", rss([rss_item("Not a permalink", guid=f'<guid isPermaLink="false">{L(C,"guid-not-permalink")}</guid>')]),
     [E("Not a permalink")], "isPermaLink=\"false\": not a link")
case(C, "guid-not-url", rss([rss_item("Guid is no URL", guid="12345")]), [E("Guid is no URL")], "a guid that is not a URL")
case(C, "guid-and-link", rss([rss_item("Link wins", L(C, "guid-and-link", 1), guid=L(C, "guid-and-link", 2))]),
     [E("Link wins", L(C, "guid-and-link", 1))], "both link and permalink guid: the link")
case(C, "empty-link-guid", rss([rss_item("Empty link", "", guid=L(C, "empty-link-guid"))]),
     [E("Empty link", L(C, "empty-link-guid"))], "an empty <link> and a permalink guid")
case(C, "enclosure-only", rss([rss_item("Enclosure only", desc="d", extra='<enclosure url="http://corpus.test/v.mp4" length="1" type="video/mp4"/>')]),
     [E("Enclosure only")], "an RSS enclosure is never the link")
case(C, "comments-only", rss([rss_item("Comments only", extra=f"<comments>{L(C,'comments-only')}</comments>")]),
     [E("Comments only")], "an RSS comments link is never the link")
case(C, "link-and-comments", rss([rss_item("Link and comments", extra=f"<comments>{L(C,'link-and-comments',2)}</comments><link>{L(C,'link-and-comments',1)}</link>")]),
     [E("Link and comments", L(C, "link-and-comments", 1))], "comments before the link")
def atom_links(name, links, expected, about):
    case(C, name, atom([atom_entry(name, links, f"urn:{name}", D1Z)]), [E(name, expected, D1Z)], about)
atom_links("atom-enclosure-first", f'<link rel="enclosure" type="video/mp4" href="http://corpus.test/v.mp4"/>{alt(L(C,"atom-enclosure-first"))}',
           L(C, "atom-enclosure-first"), "an enclosure before the alternate")
atom_links("atom-enclosure-only", '<link rel="enclosure" type="video/mp4" href="http://corpus.test/v2.mp4"/>', None, "only an enclosure: no link")
atom_links("atom-license", f'<link rel="license" href="http://creativecommons.org/licenses/by/4.0/"/><link href="{L(C,"atom-license")}"/>',
           L(C, "atom-license"), "a license link first")
atom_links("atom-self", f'<link rel="self" type="application/atom+xml" href="http://corpus.test/entry.xml"/>{alt(L(C,"atom-self"))}',
           L(C, "atom-self"), "a self link first")
atom_links("atom-via", f'<link rel="via" href="http://corpus.test/source"/>{alt(L(C,"atom-via"))}', L(C, "atom-via"), "a via link first")
atom_links("atom-replies", f'<link rel="replies" type="application/atom+xml" href="http://corpus.test/replies"/>{alt(L(C,"atom-replies"))}',
           L(C, "atom-replies"), "a replies link first")
atom_links("atom-edit", f'<link rel="edit" href="http://corpus.test/edit"/><link rel="edit-media" href="http://corpus.test/em"/>{alt(L(C,"atom-edit"))}',
           L(C, "atom-edit"), "edit links first")
atom_links("atom-pdf-then-html", f'<link rel="alternate" type="application/pdf" href="http://corpus.test/x.pdf"/>{alt(L(C,"atom-pdf-then-html"))}',
           L(C, "atom-pdf-then-html"), "an alternate PDF before the alternate HTML")
atom_links("atom-alternate-no-type", f'<link rel="alternate" href="{L(C,"atom-alternate-no-type")}"/>', L(C, "atom-alternate-no-type"), "an alternate without a type")
atom_links("atom-alternate-xhtml", f'<link rel="alternate" type="application/xhtml+xml" href="{L(C,"atom-alternate-xhtml")}"/>',
           L(C, "atom-alternate-xhtml"), "an XHTML alternate")
atom_links("atom-related-only", '<link rel="related" href="http://corpus.test/related"/>', None, "only a related link: no link")
atom_links("atom-hreflang", alt(L(C, "atom-hreflang", 1), ' hreflang="en"') + alt(L(C, "atom-hreflang", 2), ' hreflang="ja"'),
           L(C, "atom-hreflang", 1), "two alternates: the first")
case(C, "relative-doc-url", rss([rss_item("Relative to the document", "../articles/1", date=D1)]),
     [E("Relative to the document", ORIGIN + "/corpus/articles/1", D1Z)], "a relative link, resolved against the feed's URL")
case(C, "relative-root", rss([rss_item("Root-relative", "/links/root/1")]),
     [E("Root-relative", ORIGIN + "/links/root/1")], "a root-relative link")
case(C, "protocol-relative", rss([rss_item("Protocol-relative", "//corpus.test/links/protocol-relative/1")]),
     [E("Protocol-relative", "http://corpus.test/links/protocol-relative/1")], "a protocol-relative link")
case(C, "content-location", rss([rss_item("Resolved by Content-Location", "story/1")]),
     [E("Resolved by Content-Location", "http://corpus.test/located/story/1")], "relative link, Content-Location header",
     headers={"Content-Location": "http://corpus.test/located/feed.xml"})
case(C, "content-location-relative", rss([rss_item("Relative Content-Location", "story/2")]),
     [E("Relative Content-Location", ORIGIN + "/moved/here/story/2")], "a relative Content-Location",
     headers={"Content-Location": "/moved/here/feed.xml"})
case(C, "xml-base-feed", atom([atom_entry("xml:base on the feed", '<link href="entry/1"/>', "urn:xb:1", D1Z)],
                               attrs=' xml:base="http://corpus.test/based/"'),
     [E("xml:base on the feed", "http://corpus.test/based/entry/1", D1Z)], "xml:base on <feed>")
case(C, "xml-base-entry", atom([atom_entry("xml:base on the entry", '<link href="2"/>', "urn:xb:2", D1Z).replace("<entry>", '<entry xml:base="http://corpus.test/entry-base/">')]),
     [E("xml:base on the entry", "http://corpus.test/entry-base/2", D1Z)], "xml:base on <entry>")
case(C, "xml-base-beats-location", atom([atom_entry("xml:base before Content-Location", '<link href="3"/>', "urn:xb:3", D1Z)],
                                         attrs=' xml:base="http://corpus.test/xb/"'),
     [E("xml:base before Content-Location", "http://corpus.test/xb/3", D1Z)], "xml:base wins over Content-Location",
     headers={"Content-Location": "http://corpus.test/cl/feed"})
case(C, "javascript-link", rss([rss_item("Hostile link", "javascript:alert(1)")]), [E("Hostile link")], "a javascript: link is dropped")
case(C, "link-whitespace", rss([rss_item("Spaced link", f"\n   {L(C,'link-whitespace')}  \n")]),
     [E("Spaced link", L(C, "link-whitespace"))], "a link wrapped in white space")
case(C, "link-entities", rss([rss_item("Link with entities", "http://corpus.test/links/link-entities?a=1&amp;b=2")]),
     [E("Link with entities", "http://corpus.test/links/link-entities?a=1&b=2")], "&amp; in a link")
case(C, "link-cdata", rss([rss_item("Link in CDATA", f"<![CDATA[{L(C,'link-cdata')}?x=1&y=2]]>")]),
     [E("Link in CDATA", L(C, "link-cdata") + "?x=1&y=2")], "a link in CDATA")

# ---------------------------------------------------------------- titles
C = "titles"
case(C, "missing-title", rss([rss_item(None, L(C, "missing-title"), desc="The Self-Defense Forces joined a NATO exercise.")]),
     [E("The Self-Defense Forces joined a NATO exercise.", L(C, "missing-title"))], "no title: the text's words")
case(C, "missing-title-long", rss([rss_item(None, L(C, "missing-title-long"), desc="one two three four five six seven eight nine ten eleven twelve thirteen fourteen")]),
     [E("one two three four five six seven eight nine ten eleven twelve…", L(C, "missing-title-long"))], "no title, a long text: twelve words")
case(C, "missing-title-html", rss([rss_item(None, L(C, "missing-title-html"), desc="&lt;p&gt;&lt;b&gt;Tokyo&lt;/b&gt; drill&lt;/p&gt;")]),
     [E("Tokyo drill", L(C, "missing-title-html"))], "no title, an HTML description")
case(C, "entities", rss([rss_item("NATO &amp; Japan &lt;3 &quot;quoted&quot; &#8220;curly&#8221; &#x2014; dash", L(C, "entities"))]),
     [E("NATO & Japan <3 \"quoted\" “curly” — dash", L(C, "entities"))], "XML and numeric entities")
case(C, "html-entities", rss([rss_item("Caf&eacute; &nbsp;na&iuml;ve &hellip;", L(C, "html-entities"))]),
     [E("Café naïve …", L(C, "html-entities"))], "HTML entities XML does not define")
case(C, "cdata", rss([rss_item("<![CDATA[Breaking: <em>NATO</em> & Japan]]>", L(C, "cdata"))]),
     [E("Breaking: NATO & Japan", L(C, "cdata"))], "a title in CDATA with markup")
case(C, "escaped-markup", rss([rss_item("&lt;b&gt;Bold&lt;/b&gt; news", L(C, "escaped-markup"))]),
     [E("Bold news", L(C, "escaped-markup"))], "escaped markup in a title")
case(C, "double-escaped", rss([rss_item("AT&amp;amp;T deal", L(C, "double-escaped"))]),
     [E("AT&T deal", L(C, "double-escaped"))], "a doubly escaped ampersand")
case(C, "whitespace", rss([rss_item("\n   Title over\n   two lines  ", L(C, "whitespace"))]),
     [E("Title over two lines", L(C, "whitespace"))], "white space in a title")
case(C, "empty-title-dc", rss([f'<item><title></title><dc:title>DC fills an empty title</dc:title><link>{L(C,"empty-title-dc")}</link></item>'], attrs=DC),
     [E("DC fills an empty title", L(C, "empty-title-dc"))], "an empty title and a dc:title")
case(C, "invalid-char-ref", rss([rss_item("Bad &#0; ref &#xD800; here", L(C, "invalid-char-ref"))]),
     [E("Bad \ufffd ref \ufffd here", L(C, "invalid-char-ref"))], "character references XML forbids")
case(C, "rtl-and-emoji", rss([rss_item("חדשות 📰 عاجل", L(C, "rtl-and-emoji"))]),
     [E("חדשות 📰 عاجل", L(C, "rtl-and-emoji"))], "right-to-left text and emoji")

# ---------------------------------------------------------------- dates
C = "dates"
def dated(name, date_xml, expected, about):
    case(C, name, rss([f"<item><title>{name}</title><link>{L(C,name)}</link>{date_xml}</item>"], attrs=DC), [E(name, L(C, name), expected)], about)
dated("rfc822", f"<pubDate>{D1}</pubDate>", D1Z, "RFC 822 with GMT")
dated("rfc822-offset", f"<pubDate>{D2}</pubDate>", D2Z, "RFC 822 with an offset")
dated("rfc822-est", "<pubDate>Mon, 16 Nov 2026 04:30:00 EST</pubDate>", D1Z, "RFC 822 with a US zone name")
dated("rfc822-no-weekday", "<pubDate>16 Nov 2026 09:30:00 GMT</pubDate>", D1Z, "RFC 822 without the day name")
dated("rfc822-wrong-weekday", "<pubDate>Fri, 16 Nov 2026 09:30:00 GMT</pubDate>", D1Z, "RFC 822 with the wrong day name")
dated("rfc3339", f"<pubDate>{D1Z}</pubDate>", D1Z, "RFC 3339 in pubDate")
dated("rfc3339-fraction", "<pubDate>2026-11-16T09:30:00.123Z</pubDate>", D1Z, "RFC 3339 with fractions")
dated("dc-date", "<dc:date>2026-11-16T18:30:00+09:00</dc:date>", D1Z, "dc:date only")
dated("missing", "", None, "no date")
dated("future", "<pubDate>Mon, 16 Nov 2099 09:30:00 GMT</pubDate>", None, "a date in the future is no publication time")
dated("garbage", "<pubDate>last Tuesday</pubDate>", None, "a date that is no date")
case(C, "atom-updated-only", atom([atom_entry("Updated only", alt(L(C, "atom-updated-only")), "urn:d:u", D1Z)]),
     [E("Updated only", L(C, "atom-updated-only"), D1Z)], "Atom: updated only")
case(C, "atom-published-first", atom([atom_entry("Published and updated", alt(L(C, "atom-published-first")), "urn:d:p", D3Z, D2Z)]),
     [E("Published and updated", L(C, "atom-published-first"), D2Z)], "Atom: published wins over updated")

# ---------------------------------------------------------------- malformed
C = "malformed"
def three(name, middle_xml, middle_title, about, poll="malformed feed"):
    """A faulty item between two good ones: all three are read."""
    items = [rss_item(f"{name} before", L(C, name, 1), date=D1),
             f"<item>{middle_xml}<link>{L(C, name, 2)}</link><pubDate>{D1}</pubDate></item>",
             rss_item(f"{name} after", L(C, name, 3), date=D1)]
    exp = [E(f"{name} before", L(C, name, 1), D1Z), E(middle_title, L(C, name, 2), D1Z), E(f"{name} after", L(C, name, 3), D1Z)]
    case(C, name, rss(items), exp, about, poll=poll)
three("bare-ampersand-title", "<title>AT&T and NATO</title>", "AT&T and NATO", "a bare & in a title")
case(C, "bare-ampersand-link", rss([rss_item("Query link", "http://corpus.test/malformed/bare-ampersand-link?a=1&b=2", date=D1),
                                    rss_item("Second", L(C, "bare-ampersand-link", 2), date=D1)]),
     [E("Query link", "http://corpus.test/malformed/bare-ampersand-link?a=1&b=2", D1Z), E("Second", L(C, "bare-ampersand-link", 2), D1Z)],
     "a bare & in a link (the commonest fault)", poll="malformed feed (an `&` that starts no entity")
three("unclosed-entity", "<title>Unclosed &nbsp entity</title>", "Unclosed entity", "an entity without its semicolon (read as HTML reads it)")
three("undefined-entity", "<title>Undefined &foo; entity</title>", "Undefined &foo; entity", "an entity nobody defined", poll=None)
three("unescaped-lt", "<title>1 < 2 for NATO</title>", "1 < 2 for NATO", "a bare < in a title")
three("mismatched-tag", "<title>Bold <b>claim</title>", "Bold claim", "an element left open inside a title")
three("unterminated-cdata", "<title>Open CDATA</title><description><![CDATA[never closed</description>", "Open CDATA",
      "a CDATA section never closed, between good items")
case(C, "unterminated-cdata-last", rss([rss_item("Last but one", L(C, "unterminated-cdata-last", 1), date=D1)]).replace(
    "</channel></rss>", f"<item><title>Cut CDATA</title><link>{L(C,'unterminated-cdata-last',2)}</link><description><![CDATA[runs to the end</description></item></channel></rss>"),
     [E("Last but one", L(C, "unterminated-cdata-last", 1), D1Z), E("Cut CDATA", L(C, "unterminated-cdata-last", 2))],
     "the last item's CDATA never closed", poll="malformed feed")
full = rss([rss_item(f"Truncated {i}", L(C, "truncated-mid-item", i), date=D1) for i in (1, 2)] + [rss_item("Cut short", L(C, "truncated-mid-item", 3), date=D1)])
case(C, "truncated-mid-item", full[:full.index("Cut short") + 5],
     [E("Truncated 1", L(C, "truncated-mid-item", 1), D1Z), E("Truncated 2", L(C, "truncated-mid-item", 2), D1Z)],
     "the document cut off inside an item's title", poll="malformed feed (the document ends inside <title>")
full = rss([rss_item(f"Whole {i}", L(C, "truncated-after-items", i), date=D1) for i in (1, 2)])
case(C, "truncated-after-items", full[:full.index("</channel>")],
     [E(f"Whole {i}", L(C, "truncated-after-items", i), D1Z) for i in (1, 2)], "the document cut off after its last item",
     poll="malformed feed")
it, ex = std_rss(C, "junk-before")
case(C, "junk-before", "\nWarning: mysql_connect(): Too many connections in /var/www/feed.php on line 3\n" + rss(it), ex,
     "a PHP warning before the declaration", poll="malformed feed")
it, ex = std_rss(C, "junk-after")
case(C, "junk-after", rss(it) + "<!-- served in 0.02s --><p>trailing junk & more", ex, "junk after the root element")
it, ex = std_rss(C, "two-documents")
case(C, "two-documents", rss(it) + rss([rss_item("Second document", "http://corpus.test/second")]).replace('<?xml version="1.0" encoding="utf-8"?>\n', ""), ex,
     "two documents in one body: the first")
it, ex = std_rss(C, "missing-channel-end")
case(C, "missing-channel-end", rss(it).replace("</channel>", ""), ex, "no </channel>", poll="malformed feed")
it, ex = std_rss(C, "bom-and-space")
case(C, "bom-and-space", b"\xef\xbb\xbf\n\n  " + rss(it).encode(), ex, "a BOM, then white space before the declaration")
it, ex = std_rss(C, "control-chars")
case(C, "control-chars", rss(it).replace("story 1", "story\x0b 1"), [E("control-chars story 1", ex[0]["link"], D1Z), ex[1]],
     "a control character XML forbids", poll=None)
case(C, "atom-bad-entity", atom([atom_entry("Good Atom", alt(L(C, "atom-bad-entity", 1)), "urn:m:1", D1Z),
                                 atom_entry("R&D news", alt(L(C, "atom-bad-entity", 2)), "urn:m:2", D1Z)]),
     [E("Good Atom", L(C, "atom-bad-entity", 1), D1Z), E("R&D news", L(C, "atom-bad-entity", 2), D1Z)],
     "Atom with a bare &", poll="malformed feed")
case(C, "atom-unclosed-entry", atom([atom_entry("Atom whole", alt(L(C, "atom-unclosed-entry", 1)), "urn:mu:1", D1Z),
                                     atom_entry("Atom unclosed", alt(L(C, "atom-unclosed-entry", 2)), "urn:mu:2", D1Z).replace("</entry>", ""),
                                     atom_entry("Atom after", alt(L(C, "atom-unclosed-entry", 3)), "urn:mu:3", D1Z)]),
     [E("Atom whole", L(C, "atom-unclosed-entry", 1), D1Z), E("Atom unclosed", L(C, "atom-unclosed-entry", 2), D1Z),
      E("Atom after", L(C, "atom-unclosed-entry", 3), D1Z)], "an Atom entry never closed", poll="malformed feed")
case(C, "unquoted-attribute", atom([atom_entry("Unquoted href", f'<link href={L(C,"unquoted-attribute")} />', "urn:uq", D1Z)]),
     [E("Unquoted href", L(C, "unquoted-attribute"), D1Z)], "an attribute value without quotes")
case(C, "empty-document", "", [], "an empty body", error="malformed feed: the document is empty")
case(C, "whitespace-only", "  \n\n ", [], "white space only", error="malformed feed: the document is empty")
case(C, "plain-text", "Service temporarily unavailable. Please try again later.", [], "text, not XML", error="malformed feed")
case(C, "html-page", "<!DOCTYPE html><html><head><title>Sign in</title></head><body><form></form></body></html>", [],
     "a login page", ext="html", ct="text/html; charset=utf-8", error="not a feed (got text/html)")
case(C, "xhtml-served-as-xml", '<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title></head><body/></html>\n', [],
     "well-formed XHTML served as XML", error="not a feed (got an XML document whose root is <html>)")
case(C, "other-xml", '<?xml version="1.0"?>\n<error><code>500</code><message>Internal</message></error>\n', [],
     "an XML error document", error="not a feed (got an XML document whose root is <error>)")
case(C, "nothing-recoverable", '<rss version="2.0"><channel><title>t</title><item><title>Cut', [],
     "ill-formed with no entry to recover", error="malformed feed")

# ---------------------------------------------------------------- bad-entries
C = "bad-entries"
case(C, "empty-item", rss([rss_item("Good one", L(C, "empty-item", 1)), "<item></item>", rss_item("Good two", L(C, "empty-item", 2))]),
     [E("Good one", L(C, "empty-item", 1)), E("Good two", L(C, "empty-item", 2))], "an empty item among good ones",
     poll="1 entry skipped (no title, link or text)")
case(C, "category-only", rss([rss_item("Kept", L(C, "category-only", 1)), "<item><category>news</category></item>"]),
     [E("Kept", L(C, "category-only", 1))], "an item with nothing to show", poll="1 entry skipped")
case(C, "atom-empty-content-xhtml", atom([atom_entry("Fine", alt(L(C, "atom-empty-content-xhtml", 1)), "urn:b:1", D1Z),
                                          atom_entry("Empty xhtml", alt(L(C, "atom-empty-content-xhtml", 2)), "urn:b:2", D1Z, extra='<content type="xhtml"/>')]),
     [E("Fine", L(C, "atom-empty-content-xhtml", 1), D1Z), E("Empty xhtml", L(C, "atom-empty-content-xhtml", 2), D1Z)],
     "an empty xhtml content")
case(C, "atom-content-text-and-src", atom([atom_entry("Src with text", alt(L(C, "atom-content-text-and-src", 1)), "urn:b:3", D1Z,
                                                      extra='<content src="http://corpus.test/c" type="text/html">not allowed</content>'),
                                           atom_entry("Next", alt(L(C, "atom-content-text-and-src", 2)), "urn:b:4", D1Z)]),
     [E("Src with text", L(C, "atom-content-text-and-src", 1), D1Z), E("Next", L(C, "atom-content-text-and-src", 2), D1Z)],
     "content with both src and text (feed-rs refuses it)", poll="1 entry read in part")
many = [rss_item(f"Many {i}", L(C, "many-one-broken", i), date=D1) for i in range(1, 11)]
many[4] = f"<item><title>Broken <i>five</title><link>{L(C,'many-one-broken',5)}</link><pubDate>{D1}</pubDate></item>"
case(C, "many-one-broken", rss(many), [E("Broken five" if i == 5 else f"Many {i}", L(C, "many-one-broken", i), D1Z) for i in range(1, 11)],
     "ten items, one ill-formed", poll="malformed feed")
case(C, "duplicate-guids", rss([rss_item("First copy", L(C, "duplicate-guids", 1), guid="dup"), rss_item("Second copy", L(C, "duplicate-guids", 2), guid="dup")]),
     [E("First copy", L(C, "duplicate-guids", 1))], "two items with one guid: the first")
case(C, "no-guid-same-title", rss([rss_item("Same title", L(C, "no-guid-same-title", 1)), rss_item("Same title", L(C, "no-guid-same-title", 2))]),
     [E("Same title", L(C, "no-guid-same-title", 1)), E("Same title", L(C, "no-guid-same-title", 2))], "no guids, one title, two links")


def toml_str(s):
    return json.dumps(s, ensure_ascii=False)


def main():
    for entry in os.listdir(OUT) if os.path.isdir(OUT) else []:
        if os.path.isdir(os.path.join(OUT, entry)):
            shutil.rmtree(os.path.join(OUT, entry))
    seen = set()
    for c in CASES:
        key = (c["cat"], c["name"])
        assert key not in seen, key
        seen.add(key)
        d = os.path.join(OUT, c["cat"])
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f'{c["name"]}.{c["ext"]}'), "wb") as f:
            f.write(c["body"])
        lines = [f"# {c['about']}", f"file = {toml_str(c['name'] + '.' + c['ext'])}"]
        if c["ct"]:
            lines.append(f"content_type = {toml_str(c['ct'])}")
        if c["poll"]:
            lines.append(f"poll = {toml_str(c['poll'])}")
        if c["error"]:
            lines.append(f"error = {toml_str(c['error'])}")
        if c["headers"]:
            lines.append("headers = { " + ", ".join(f"{toml_str(k)} = {toml_str(v)}" for k, v in c["headers"].items()) + " }")
        for e in c["entries"]:
            lines.append("")
            lines.append("[[entry]]")
            lines.append(f"title = {toml_str(e['title'])}")
            if e["link"]:
                lines.append(f"link = {toml_str(e['link'])}")
            if e["published"]:
                lines.append(f"published = {toml_str(e['published'])}")
        with open(os.path.join(d, f'{c["name"]}.toml'), "w") as f:
            f.write("\n".join(lines) + "\n")
    cats = {}
    for c in CASES:
        cats[c["cat"]] = cats.get(c["cat"], 0) + 1
    print(len(CASES), cats)


main()
