/* test_s3_tls.c: the words for a transfer TLS refused: untrusted certificate, unusable CA file. */
#include <string.h>

#include <criterion/criterion.h>

#include "s3.h"

static struct ms_mount m = { .name = "models", .endpoint = "https://127.0.0.1:9443" };

Test(s3_tls, untrusted_without_a_ca_file)
{
	char out[512];

	m.ca_bundle[0] = '\0';
	cr_assert(ms_s3_tls_refused(&m, CURLE_PEER_FAILED_VERIFICATION,
	    "SSL certificate problem: self-signed certificate in certificate chain", out, sizeof out));
	cr_expect_str_eq(out, "the TLS certificate of https://127.0.0.1:9443 was not trusted (SSL "
	    "certificate problem: self-signed certificate in certificate chain): name the CA that "
	    "signed it with ca_bundle = FILE in [mount \"models\"] or AWS_CA_BUNDLE");
	cr_assert(ms_s3_tls_refused(&m, CURLE_SSL_ISSUER_ERROR, NULL, out, sizeof out));
	cr_expect(strstr(out, "was not trusted: name the CA") != NULL, "%s", out);
}

Test(s3_tls, untrusted_with_a_ca_file)
{
	char out[512];

	strlcpy(m.ca_bundle, "/etc/ms/ca.pem", sizeof m.ca_bundle);
	cr_assert(ms_s3_tls_refused(&m, CURLE_PEER_FAILED_VERIFICATION, "", out, sizeof out));
	cr_expect_str_eq(out, "the TLS certificate of https://127.0.0.1:9443 was not trusted with the "
	    "CA file /etc/ms/ca.pem: it must hold the CA that signed the certificate, for this host "
	    "name");
	cr_assert(ms_s3_tls_refused(&m, CURLE_SSL_CACERT_BADFILE, "error setting certificate file",
	    out, sizeof out));
	cr_expect(strstr(out, "the CA file /etc/ms/ca.pem could not be loaded (error setting") == out,
	    "%s", out);
}

/* Everything else is somebody else's words: no TLS advice for a refused connection. */
Test(s3_tls, other_failures)
{
	const CURLcode others[] = { CURLE_OK, CURLE_COULDNT_CONNECT, CURLE_SSL_CONNECT_ERROR,
		CURLE_OPERATION_TIMEDOUT, CURLE_RECV_ERROR };
	char out[64] = "untouched";

	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
		cr_expect_not(ms_s3_tls_refused(&m, others[i], NULL, out, sizeof out), "%d", others[i]);
	cr_expect_str_eq(out, "untouched");
}
