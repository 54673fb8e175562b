#pragma once
// What the window's tests share (tests/ui/*_test.cpp): waiting for the event loop, the small
// experiment they train, one finished run, and a RunData with every task evaluated. main() of
// dlw_ui_tests is in ui_test_support.cpp (offscreen unless QT_QPA_PLATFORM says otherwise).

#include "api/experiment.h"
#include "ui/run_data.h"

#include <filesystem>
#include <functional>

#include <QString>

class QWidget;

namespace dlw::ui {

// Processes events until `done` or `ms` pass; false on the time-out.
bool waitFor(const std::function<bool()>& done, int ms);

// Whether any label inside `widget` shows `text` (an error beneath a form, a status line).
bool someLabelSays(const QWidget& widget, const QString& text);

// The engine tests' small experiment (28×28 grey fixture backbone, 3 tasks × 2 classes), a bit
// longer: 40 images a class, 2 epochs of batches of 8.
Experiment small();

// One finished run of small(), made on first use and shared by the tests.
const std::filesystem::path& finishedRun();

// A RunData of `tasks` tasks, every task evaluated, accuracies 30-99 % with one decimal.
RunData evaluatedRun(int tasks);

}  // namespace dlw::ui
