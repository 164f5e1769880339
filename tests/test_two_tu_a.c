/* Two translation units, one program: this one holds the implementation
   (VPAR_IMPLEMENTATION), test_two_tu_b.c includes vpar.h plainly. The
   thread-local error buffer written from TU b must be the one TU a reads,
   proving that process-wide state exists exactly once. Components add
   their own cross-TU checks to two_tu_b_probe(). */
#define VPAR_IMPLEMENTATION
#include "vpar.h"
#include "vpar_check.h"

const char *two_tu_b_fail(void);
const char *two_tu_b_error_address(void);

START_TEST(test_error_state_shared_across_tus) {
    vpar_clear_error();
    const char *from_b = two_tu_b_fail();
    ck_assert_str_eq(vpar_last_error(), "set in TU b");
    ck_assert_ptr_eq(from_b, vpar_last_error());
    ck_assert_ptr_eq(two_tu_b_error_address(), vpar_last_error());
    ck_assert_str_eq(vpar_status_str(VPAR_ERR_FULL), "capacity exhausted");
}
END_TEST

int main(void) {
    Suite *s = suite_create("two_tu");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_error_state_shared_across_tus);
    suite_add_tcase(s, tc);
    return vpar_test_run(s);
}
