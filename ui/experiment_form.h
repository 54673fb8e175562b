#pragma once
// Every key of the experiment file as an editor (DESIGN §6, §7 "Setup"): the keys a user changes
// most in front, the rest grouped (adapters, task identity, memory, training, data, other),
// each with the default shown and a tooltip from the key reference. The form turns its editors
// into `--set`-style assignments on the defaults, so it accepts exactly what an experiment file
// accepts, with the same error messages. GUI thread only.

#include "api/experiment.h"

#include <functional>
#include <map>
#include <optional>

#include <QWidget>

class QLabel;

namespace dlw::ui {

class ExperimentForm : public QWidget {
    Q_OBJECT

public:
    explicit ExperimentForm(QWidget* parent = nullptr);

    void setExperiment(const Experiment& experiment);
    // The experiment the editors describe, or nullopt with error() set when a value is invalid.
    std::optional<Experiment> experiment();
    QString error() const { return error_; }

    // The editor of a dotted key (tests, the dataset drop), or nullptr.
    QWidget* editor(const std::string& key) const;
    // Sets one key from JSON text as the user would (e.g. "data.root", "\"/data\"").
    void setValue(const std::string& key, const std::string& json);
    // The same for a string-valued key, quoted as JSON here.
    void setString(const std::string& key, const QString& text);

signals:
    void changed();

private:
    struct Editor {
        QWidget* widget = nullptr;
        std::function<std::string()> json;        // the value as JSON text
        std::function<void(const QString&)> set;  // from JSON text
    };
    void notifyChanged();  // emits changed() unless setExperiment() is filling the editors
    Editor makeEditor(const ExperimentKeyInfo& info);
    Editor makeTargetsEditor(const ExperimentKeyInfo& info);  // a checkbox per map
    Editor makeBoolEditor(const ExperimentKeyInfo& info);
    Editor makeIntEditor(const ExperimentKeyInfo& info);
    Editor makeChoiceEditor(const ExperimentKeyInfo& info);  // enumerations, class order, device
    Editor makeTextEditor(const ExperimentKeyInfo& info);    // strings, floats, lists, paths

    std::map<std::string, Editor> editors_;
    std::vector<std::string> order_;
    QString error_;
    bool loading_ = false;
};

}  // namespace dlw::ui
