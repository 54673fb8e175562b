#pragma once
// The split manifest of a run (split.json, #17) as a person reads it: per task its domain, its
// classes and how many training, validation and test images it used, with the first images'
// names. Used by the window's "Split of this run…" and by reports. GUI thread only.

#include "api/run_folder.h"

#include <QString>

class QWidget;

namespace dlw::ui {

// An HTML table of `split` (self-contained, no style sheet needed): task, domain, classes,
// train / val / test counts, and the first `examples` images of each part.
QString splitHtml(const RunSplit& split, int examples = 3);

// Opens a window with the split of the run in `runDir`, or says why there is none (a run from
// before #17, a malformed file).
void showSplitDialog(QWidget* parent, const std::string& runDir);

}  // namespace dlw::ui
