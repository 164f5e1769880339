/* examples/egad/csv.c — the per-network CSV output and the genes list
   (egad.h). */
#include "egad_internal.h"

vpar_status vpar_egad_write_csv(const char *path, const vpar_egad_plan *plan,
                                         const vpar_egad_term_result *r) {
    if (!path || !plan || !r) return vpar_fail(VPAR_ERR_INVALID, "vpar_egad_write_csv: NULL argument");
    /* Format in memory, then one atomic write: no partial CSV is ever
       visible under `path`. */
    vpar_ex_buf b = {0};
    vpar_ex_buf_printf(&b, "term,AUC,AVG_NODE_DEGREE,DEGREE_NULL_AUC,P_Value\n");
    for (size_t t = 0; t < plan->nterms; t++) {
        vpar_ex_buf_printf(&b, "%s", plan->term_names[t]);
        vpar_ex_buf_printf(&b, ","); vpar_ex_buf_num(&b, r[t].auc);
        vpar_ex_buf_printf(&b, ","); vpar_ex_buf_num(&b, r[t].avg_node_degree);
        vpar_ex_buf_printf(&b, ","); vpar_ex_buf_num(&b, r[t].degree_null_auc);
        vpar_ex_buf_printf(&b, ","); vpar_ex_buf_num(&b, r[t].p_value);
        vpar_ex_buf_printf(&b, "\n");
    }
    vpar_status st = vpar_ex_buf_write_atomic(path, &b);
    vpar_ex_buf_free(&b);
    return st;
}

vpar_status vpar_egad_read_genes(const char *path, char ***out_genes, size_t *out_n) {
    if (!path || !out_genes || !out_n) return vpar_fail(VPAR_ERR_INVALID, "vpar_egad_read_genes: NULL argument");
    *out_genes = NULL;
    *out_n = 0;
    char **lines;
    size_t k;
    vpar_status st = vpar_ex_read_lines(path, VPAR_EX_READ_GZIP | VPAR_EX_READ_TEXT, &lines, &k, NULL);
    if (st != VPAR_OK) return st;
    /* Allow trailing blank lines only; an empty ID elsewhere is an error. */
    while (k > 0 && lines[k - 1][0] == '\0') k--;
    lines[k] = NULL;
    for (size_t i = 0; i < k; i++)
        if (lines[i][0] == '\0') {
            VPAR_FREE(lines);
            return vpar_fail(VPAR_ERR_FORMAT, "%s:%zu: empty gene ID", path, i + 1);
        }
    if (k == 0) {
        VPAR_FREE(lines);
        return vpar_fail(VPAR_ERR_FORMAT, "%s: no gene IDs in the file", path);
    }
    *out_genes = lines;
    *out_n = k;
    return VPAR_OK;
}

int vpar_egad_have_zlib(void) { return vpar_ex_have_zlib(); }
