/* plot.c - a loss curve as a self-contained SVG (no dependencies): training loss per step
 * (thin line), validation loss (dots joined), log-free linear axes with a few ticks. */
#include <math.h>
#include <stdio.h>

#include "train/plot.h"
#include "util.h"

int plot_loss_svg(const char *path, const char *title, const double *step, const double *loss, int n,
                  const double *vstep, const double *vloss, int nv) {
    FILE *f = fopen(path, "w");
    if (!f) return seek_error("%s: cannot create", path);
    const double W = 720, Hh = 420, ml = 60, mr = 20, mt = 36, mb = 44;
    double x0 = 0, x1 = 1, y0 = INFINITY, y1 = -INFINITY;
    for (int i = 0; i < n; i++) {
        if (step[i] > x1) x1 = step[i];
        if (loss[i] < y0) y0 = loss[i];
        if (loss[i] > y1) y1 = loss[i];
    }
    for (int i = 0; i < nv; i++) {
        if (vstep[i] > x1) x1 = vstep[i];
        if (vloss[i] < y0) y0 = vloss[i];
        if (vloss[i] > y1) y1 = vloss[i];
    }
    if (!(y0 < y1)) { y0 = isfinite(y0) ? y0 - 1 : 0; y1 = y0 + 2; }
    y0 = y0 > 0 ? 0 : y0;
#define PX(x) (ml + ((x) - x0) / (x1 - x0) * (W - ml - mr))
#define PY(y) (Hh - mb - ((y) - y0) / (y1 - y0) * (Hh - mt - mb))
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">\n", W, Hh);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%.0f\" y=\"22\" font-size=\"15\">%s</text>\n", ml, title);
    for (int k = 0; k <= 5; k++) {
        double y = y0 + (y1 - y0) * k / 5, x = x0 + (x1 - x0) * k / 5;
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", ml, W - mr, PY(y), PY(y));
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n", ml - 6, PY(y) + 4, y);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>\n", PX(x), Hh - mb + 18, x);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">step</text>\n", (ml + W - mr) / 2, Hh - 8);
    if (n > 0) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"#4a7bd0\" stroke-width=\"1\" points=\"");
        for (int i = 0; i < n; i++) fprintf(f, "%.1f,%.1f ", PX(step[i]), PY(loss[i]));
        fprintf(f, "\"/>\n");
    }
    if (nv > 0) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"#d0503a\" stroke-width=\"2\" points=\"");
        for (int i = 0; i < nv; i++) fprintf(f, "%.1f,%.1f ", PX(vstep[i]), PY(vloss[i]));
        fprintf(f, "\"/>\n");
        for (int i = 0; i < nv; i++) fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#d0503a\"/>\n", PX(vstep[i]), PY(vloss[i]));
    }
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#4a7bd0\">train loss</text>\n", W - mr - 170, mt + 4);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#d0503a\">validation loss</text>\n", W - mr - 90, mt + 4);
    fprintf(f, "</svg>\n");
#undef PX
#undef PY
    return fclose(f) == 0 ? 0 : seek_error("%s: write failed", path);
}
