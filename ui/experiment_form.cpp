#include "ui/experiment_form.h"

#include "api/error.h"
#include "ui/shown_text.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QToolBox>
#include <QVBoxLayout>

namespace dlw::ui {
namespace {

// The keys in front, in this order; the rest go to the groups below by prefix.
const std::vector<std::string> kFront = {"data.kind",
                                         "data.root",
                                         "sequence.tasks",
                                         "sequence.classes_per_task",
                                         "sequence.class_order",
                                         "seed",
                                         "method.name",
                                         "backbone.path",
                                         "device"};

const std::vector<std::pair<std::string, QString>> kGroups = {
    {"method.", QObject::tr("Adapters")},
    {"task_id.", QObject::tr("Task identity")},
    {"memory.", QObject::tr("Memory")},
    {"train.", QObject::tr("Training")},
    {"data.", QObject::tr("Data")},
    {"sequence.", QObject::tr("Sequence")},
    {"", QObject::tr("Other")}};

QString jsonString(const QString& text) {
    return QString::fromUtf8(
        QJsonDocument(QJsonArray{text}).toJson(QJsonDocument::Compact).mid(1).chopped(1));
}

// The value of a dotted key in a JSON object, as compact JSON text.
QString valueText(const QJsonObject& root, const std::string& key) {
    QJsonValue v = root;
    for (const auto& part : QString::fromStdString(key).split('.')) {
        v = v.toObject().value(part);
    }
    const QByteArray wrapped = QJsonDocument(QJsonArray{v}).toJson(QJsonDocument::Compact);
    return QString::fromUtf8(wrapped.mid(1, wrapped.size() - 2));
}

QString unquote(const QString& json) {
    const auto doc = QJsonDocument::fromJson("[" + json.toUtf8() + "]");
    const auto v = doc.array().at(0);
    return v.isString() ? v.toString() : json;
}

QString tooltip(const ExperimentKeyInfo& info) {
    return QStringLiteral("<b>%1</b> (%2)<br>%3<br>allowed: %4<br>default: %5")
        .arg(QString::fromStdString(info.key), QString::fromStdString(info.type),
             htmlText(QString::fromStdString(info.description)),
             htmlText(QString::fromStdString(info.allowed)),
             htmlText(QString::fromStdString(info.defaultValue)));
}

QString label(const std::string& key) {
    static const std::map<std::string, QString> names = {
        {"data.kind", QObject::tr("Dataset")},
        {"data.root", QObject::tr("Dataset location")},
        {"sequence.tasks", QObject::tr("Tasks")},
        {"sequence.classes_per_task", QObject::tr("Classes per task")},
        {"sequence.class_order", QObject::tr("Class order")},
        {"seed", QObject::tr("Seed")},
        {"method.name", QObject::tr("Method")},
        {"backbone.path", QObject::tr("Backbone")},
        {"device", QObject::tr("Device")}};
    auto it = names.find(key);
    if (it != names.end()) {
        return it->second;
    }
    const auto dot = key.find('.');
    return QString::fromStdString(dot == std::string::npos ? key : key.substr(dot + 1));
}

}  // namespace

ExperimentForm::Editor ExperimentForm::makeTargetsEditor(const ExperimentKeyInfo& info) {
    Editor e;
    auto* box = new QWidget;
    auto* grid = new QGridLayout(box);
    grid->setContentsMargins(0, 0, 0, 0);
    std::vector<QCheckBox*> checks;
    for (const char* m : {"q", "k", "v", "proj", "fc1", "fc2"}) {
        auto* c = new QCheckBox(QString::fromLatin1(m));
        const int n = static_cast<int>(checks.size());
        grid->addWidget(c, n / 3, n % 3);
        checks.push_back(c);
        connect(c, &QCheckBox::toggled, this, &ExperimentForm::notifyChanged);
    }
    e.widget = box;
    e.json = [checks] {
        QJsonArray a;
        for (auto* c : checks) {
            if (c->isChecked()) {
                a.append(c->text());
            }
        }
        return QJsonDocument(a).toJson(QJsonDocument::Compact).toStdString();
    };
    e.set = [checks](const QString& json) {
        const auto a = QJsonDocument::fromJson(json.toUtf8()).array();
        for (auto* c : checks) {
            c->setChecked(a.contains(c->text()));
        }
    };
    return e;
}

ExperimentForm::Editor ExperimentForm::makeBoolEditor(const ExperimentKeyInfo& info) {
    Editor e;
    auto* c = new QCheckBox;
    connect(c, &QCheckBox::toggled, this, &ExperimentForm::notifyChanged);
    e.widget = c;
    e.json = [c] { return c->isChecked() ? std::string("true") : std::string("false"); };
    e.set = [c](const QString& json) { c->setChecked(json == QLatin1String("true")); };
    return e;
}

ExperimentForm::Editor ExperimentForm::makeIntEditor(const ExperimentKeyInfo& info) {
    Editor e;
    auto* s = new QSpinBox;
    s->setRange(info.allowed == ">= -1" ? -1 : info.allowed == ">= 1" ? 1 : 0, 1'000'000'000);
    s->setSpecialValueText(info.allowed == ">= -1" ? tr("auto") : QString());
    connect(s, qOverload<int>(&QSpinBox::valueChanged), this, &ExperimentForm::notifyChanged);
    e.widget = s;
    e.json = [s] { return std::to_string(s->value()); };
    e.set = [s](const QString& json) { s->setValue(json.toInt()); };
    return e;
}

ExperimentForm::Editor ExperimentForm::makeChoiceEditor(const ExperimentKeyInfo& info) {
    Editor e;
    auto* c = new QComboBox;
    for (const auto& choice : info.choices) {
        c->addItem(QString::fromStdString(choice));
    }
    if (info.key == "sequence.class_order") {
        c->addItems({QStringLiteral("identity"), QStringLiteral("shuffle")});
        c->setEditable(true);  // or a list of class indices: [3, 1, 4, ...]
    }
    if (info.key == "device") {
        c->addItems({QStringLiteral("auto"), QStringLiteral("cpu"), QStringLiteral("cuda:0")});
        c->setEditable(true);
    }
    connect(c, &QComboBox::currentTextChanged, this, &ExperimentForm::notifyChanged);
    e.widget = c;
    e.json = [c] {
        const QString t = c->currentText().trimmed();
        return (t.startsWith('[') ? t : jsonString(t)).toStdString();
    };
    e.set = [c](const QString& json) { c->setCurrentText(unquote(json)); };
    return e;
}

ExperimentForm::Editor ExperimentForm::makeTextEditor(const ExperimentKeyInfo& info) {
    Editor e;
    auto* line = new QLineEdit;
    connect(line, &QLineEdit::textEdited, this, &ExperimentForm::notifyChanged);
    const bool text = info.type == "string";
    const bool list = info.type.rfind("list", 0) == 0;
    const bool names = info.type == "list of string";  // data.domains: "clipart, real"
    line->setPlaceholderText(QString::fromStdString(info.defaultValue));
    e.json = [line, text, list, names] {
        QString t = line->text().trimmed();
        if (text) {
            return jsonString(t).toStdString();
        }
        if (names && !t.startsWith('[')) {
            QStringList quoted;
            for (const auto& name : t.split(',', Qt::SkipEmptyParts)) {
                quoted << jsonString(name.trimmed());
            }
            return ("[" + quoted.join(QStringLiteral(", ")) + "]").toStdString();
        }
        if (list && !t.startsWith('[')) {
            t = "[" + t + "]";  // "2, 3" is taken as [2, 3]
        }
        return t.toStdString();
    };
    e.set = [line, text, list, names](const QString& json) {
        const QJsonDocument doc = QJsonDocument::fromJson(json.toUtf8());
        if (names && doc.isArray()) {
            QStringList shown;
            for (const auto& name : doc.array()) {
                shown << name.toString();
            }
            line->setText(shown.join(QStringLiteral(", ")));
            return;
        }
        QString t = text ? unquote(json) : json;
        if (list && t.startsWith('[')) {
            t = t.mid(1, t.size() - 2);
        }
        line->setText(t);
    };
    if (info.key == "data.root" || info.key == "backbone.path") {
        auto* box = new QWidget;
        auto* row = new QHBoxLayout(box);
        row->setContentsMargins(0, 0, 0, 0);
        row->addWidget(line, 1);
        auto* browse = new QPushButton(tr("…"));
        browse->setToolTip(tr("Choose"));
        browse->setMaximumWidth(32);
        row->addWidget(browse);
        const bool folder = info.key == "data.root";
        connect(browse, &QPushButton::clicked, this, [this, line, folder] {
            const QString path =
                folder ? QFileDialog::getExistingDirectory(this, tr("Dataset folder"))
                       : QFileDialog::getOpenFileName(this, tr("Backbone"), QString(),
                                                      tr("safetensors (*.safetensors)"));
            if (!path.isEmpty()) {
                line->setText(path);
                notifyChanged();
            }
        });
        line->setPlaceholderText(folder ? tr("the Debian package's location")
                                        : tr("the bundled dlw-vit-tiny"));
        e.widget = box;
    } else {
        e.widget = line;
    }
    return e;
}

ExperimentForm::Editor ExperimentForm::makeEditor(const ExperimentKeyInfo& info) {
    Editor e = info.key == "method.targets"    ? makeTargetsEditor(info)
               : info.type == "bool"           ? makeBoolEditor(info)
               : info.type == "int"            ? makeIntEditor(info)
               : info.type == "list of string" ? makeTextEditor(info)
               : !info.choices.empty() || info.key == "sequence.class_order" || info.key == "device"
                   ? makeChoiceEditor(info)
                   : makeTextEditor(info);
    e.widget->setToolTip(tooltip(info));
    e.widget->setObjectName(QString::fromStdString(info.key));
    return e;
}

void ExperimentForm::notifyChanged() {
    if (!loading_) {
        emit changed();
    }
}

ExperimentForm::ExperimentForm(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* front = new QFormLayout;
    layout->addLayout(front);
    auto* groups = new QToolBox;
    layout->addWidget(groups, 1);
    const auto infos = experimentKeyInfos();
    for (const auto& key : kFront) {
        for (const auto& info : infos) {
            if (info.key == key) {
                editors_[key] = makeEditor(info);
                front->addRow(label(key), editors_[key].widget);
                order_.push_back(key);
            }
        }
    }
    for (const auto& [prefix, name] : kGroups) {  // groups in this order, "Other" last
        QFormLayout* page = nullptr;
        for (const auto& info : infos) {
            if (editors_.count(info.key) != 0 || info.key.rfind(prefix, 0) != 0) {
                continue;
            }
            if (page == nullptr) {
                auto* widget = new QWidget;
                page = new QFormLayout(widget);
                groups->addItem(widget, name);
            }
            editors_[info.key] = makeEditor(info);
            auto* l = new QLabel(label(info.key));
            l->setToolTip(tooltip(info));
            page->addRow(l, editors_[info.key].widget);
            order_.push_back(info.key);
        }
    }
    setExperiment(preset("default"));
}

void ExperimentForm::setExperiment(const Experiment& experiment) {
    loading_ = true;
    const auto root =
        QJsonDocument::fromJson(QByteArray::fromStdString(toJsonText(experiment))).object();
    for (auto& [key, editor] : editors_) {
        editor.set(valueText(root, key));
    }
    loading_ = false;
    emit changed();
}

std::optional<Experiment> ExperimentForm::experiment() {
    Experiment e;
    try {
        for (const auto& key : order_) {
            applyOverride(e, key + "=" + editors_.at(key).json());
        }
        validateExperiment(e, "setup");
    } catch (const Error& err) {
        error_ = shownText(err.what());
        return std::nullopt;
    }
    error_.clear();
    return e;
}

void ExperimentForm::setString(const std::string& key, const QString& text) {
    setValue(key, jsonString(text).toStdString());
}

QWidget* ExperimentForm::editor(const std::string& key) const {
    auto it = editors_.find(key);
    return it == editors_.end() ? nullptr : it->second.widget;
}

void ExperimentForm::setValue(const std::string& key, const std::string& json) {
    auto it = editors_.find(key);
    if (it != editors_.end()) {
        it->second.set(QString::fromStdString(json));
        emit changed();
    }
}

}  // namespace dlw::ui
