/* plot.h - loss curves written as SVG by the trainer. */
#ifndef SEEK_TRAIN_PLOT_H
#define SEEK_TRAIN_PLOT_H

/* Training loss (step[i], loss[i]) and validation loss (vstep[i], vloss[i]). 0 or -1. */
int plot_loss_svg(const char *path, const char *title, const double *step, const double *loss, int n,
                  const double *vstep, const double *vloss, int nv);

#endif
