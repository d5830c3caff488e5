/* Reading what the gateway and guard need from libvirt domain XML: name, uuid, and the tenant
 * from metadata (dengbao's own <tenant id=..> element or OpenStack nova's owner/project). The
 * XML is parsed without network access and without entity expansion. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <openssl/rand.h>
#include <string.h>

#include "dengbao/gateway.h"
#include "dengbao/platform.h"
#include "dengbao/util.h"
#include "gateway/gateway_int.h"

static xmlDocPtr parse(const char *xml)
{
    size_t len = strlen(xml);
    if (len > (size_t)4 << 20) {
        dbg_err_set(DBG_ERR_LIMIT, "domain XML is %zu bytes", len);
        return NULL;
    }
    xmlResetLastError();
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        /* said where (libxml2's line), without the newline libxml2 ends its message with: the
         * client printed it as a blank line after 'domain XML: ...'; an empty file sets no error */
        const xmlError *e = xmlGetLastError();
        const char *msg = e && e->message ? e->message : len ? "not well-formed" : "empty";
        int n = (int)strcspn(msg, "\n");
        if (e && e->line > 0)
            dbg_err_set(DBG_ERR_PARSE, "domain XML line %d: %.*s", e->line, n, msg);
        else
            dbg_err_set(DBG_ERR_PARSE, "domain XML: %.*s", n, msg);
        return NULL;
    }
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!root || !xmlStrEqual(root->name, BAD_CAST "domain")) {
        dbg_err_set(DBG_ERR_INVALID, "domain XML: the root element is not <domain>");
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

/* The string expr evaluates to, cut to fit out; returns its whole length, so that a caller to
 * whom a cut value would be another value can tell. */
static size_t xpath_string(xmlDocPtr doc, const char *expr, char *out, size_t outsz)
{
    out[0] = 0;
    size_t len = 0;
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    if (!ctx)
        return 0;
    xmlXPathObjectPtr obj = xmlXPathEvalExpression(BAD_CAST expr, ctx);
    if (obj && obj->type == XPATH_STRING && obj->stringval) {
        snprintf(out, outsz, "%s", (const char *)obj->stringval);
        len = strlen((const char *)obj->stringval);
    }
    xmlXPathFreeObject(obj);
    xmlXPathFreeContext(ctx);
    return len;
}

/* The same lookup as the collector's (platform/libvirt_xml.c): only elements in dengbao's or
 * nova's namespace count. libvirt drops metadata without a namespace when it stores the XML, so
 * a tenant read from such an element would not be the tenant the stored VM has. */
/* A tenant id longer than 63 bytes is no tenant here (-1, tenant ""): cut, it read as the
 * tenant whose id is its first 63 bytes, who then listed, acted on and was alerted about that
 * VM; no identity can hold a longer id (the policy refuses one, as serve does). */
static int tenant_of(xmlDocPtr doc, char tenant[64])
{
#define DENGBAO_TENANT                                                                            \
    "(/domain/metadata//*[local-name()='tenant' and namespace-uri()='" DBG_XMLNS_DENGBAO "'])[1]"
    size_t len = xpath_string(doc, "string(" DENGBAO_TENANT "/@id)", tenant, 64);
    char has[8];
    /* dengbao's element decides alone, as in the collector: one without an id (a name only) is
     * no tenant, never nova's project beside it, which the sensor and serve would not read. */
    xpath_string(doc, "string(boolean(" DENGBAO_TENANT "))", has, sizeof(has));
#undef DENGBAO_TENANT
    if (!len && strcmp(has, "true") != 0)
        len = xpath_string(doc,
                           "string(/domain/metadata/*[local-name()='instance' and starts-with("
                           "namespace-uri(),'" DBG_XMLNS_NOVA_PREFIX "')]/*[local-name()='owner']"
                           "/*[local-name()='project']/@uuid)",
                           tenant, 64);
    if (len < 64)
        return 0;
    dbg_err_set(DBG_ERR_INVALID, "domain XML: tenant id '%.40s...' is %zu bytes; a tenant id is "
                "at most 63", tenant, len);
    tenant[0] = 0;
    return -1;
}

int dbg_gw_domain_tenant(const char *xml, char tenant[64])
{
    tenant[0] = 0;
    xmlDocPtr doc = parse(xml);
    if (!doc)
        return -1;
    int r = tenant_of(doc, tenant);
    xmlFreeDoc(doc);
    return r;
}

static int uuid_canonical_form(const char *u)
{
    if (strlen(u) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? u[i] != '-' : !isxdigit((unsigned char)u[i]))
            return 0;
    }
    return 1;
}

int dbg_gw_prepare_create(const char *xml, char **xml_out, char name[DBG_GW_NAME_MAX + 1],
                          char uuid[37], char tenant[64])
{
    int r = -1;
    xmlChar *mem = NULL;
    int memlen = 0;
    xmlDocPtr doc = parse(xml);
    if (!doc)
        return -1;
    char buf[256];
    xpath_string(doc, "string(/domain/name)", buf, sizeof(buf));
    if (!buf[0] || strlen(buf) > DBG_GW_NAME_MAX) {
        dbg_err_set(DBG_ERR_INVALID, "domain XML: <name> is missing or longer than %d",
                    DBG_GW_NAME_MAX);
        goto out;
    }
    if (!dbg_gw_name_ok(buf)) {
        dbg_err_set(DBG_ERR_INVALID, "domain XML: <name> holds characters a request cannot "
                    "name (only " DBG_GW_NAME_RULE "), so the VM could not be started or "
                    "deleted through the gateway");
        goto out;
    }
    snprintf(name, DBG_GW_NAME_MAX + 1, "%s", buf);
    xpath_string(doc, "string(/domain/uuid)", buf, sizeof(buf));
    if (!buf[0]) {
        uint8_t u[16];
        if (RAND_bytes(u, sizeof(u)) != 1) {
            dbg_err_set(DBG_ERR_CRYPTO, "no random bytes for a uuid");
            goto out;
        }
        u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
        u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
        char hex[33];
        dbg_hex_encode(u, 16, hex);
        snprintf(buf, sizeof(buf), "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
                 hex + 20);
        xmlNodePtr root = xmlDocGetRootElement(doc), n = NULL;
        /* An empty <uuid> is filled in: libvirt reads the first one and makes its own uuid for
         * an empty one, so a second <uuid> after it would not be the VM's. */
        for (xmlNodePtr k = root->children; k && !n; k = k->next)
            if (k->type == XML_ELEMENT_NODE && !k->ns && xmlStrEqual(k->name, BAD_CAST "uuid"))
                n = k;
        if (n)
            xmlNodeSetContent(n, BAD_CAST buf);
        else
            n = xmlNewTextChild(root, NULL, BAD_CAST "uuid", BAD_CAST buf);
        if (!n) {
            dbg_err_set(DBG_ERR_NOMEM, "adding <uuid>");
            goto out;
        }
    }
    if (!uuid_canonical_form(buf)) {
        /* libvirt also takes other spellings (dashes anywhere) and stores the canonical one, which
         * then would not match the uuid this request is authorized and recorded under */
        dbg_err_set(DBG_ERR_INVALID, "domain XML: <uuid> '%.40s' is not in 8-4-4-4-12 hex form", buf);
        goto out;
    }
    snprintf(uuid, 37, "%s", buf);
    if (tenant_of(doc, tenant) < 0)
        goto out;
    xmlDocDumpMemory(doc, &mem, &memlen);
    if (!mem || !(*xml_out = dbg_strndup((const char *)mem, (size_t)memlen)))
        goto out;
    r = 0;
out:
    xmlFree(mem);
    xmlFreeDoc(doc);
    return r;
}
