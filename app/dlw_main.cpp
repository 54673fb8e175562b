// dlw: the headless command line of DualLoRA Workbench. Exit codes: 0 success, 1 partial failure
// (some inputs could not be processed), 2 bad input or usage.
#include "api/error.h"
#include "api/output_text.h"
#include "api/runtime.h"
#include "cli/commands.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>

int main(int argc, char** argv) {
    CLI::App app{"DualLoRA Workbench: continual learning with dual LoRA adapters on ViTs", "dlw"};
    app.set_version_flag(
        "--version",
        [] { return std::string("dlw ") + DLW_VERSION + "\n" + dlw::versionDetails(); },
        "Print the program's version, LibTorch's and whether CUDA is available, and exit");
    app.require_subcommand(1);
    dlw::cli::GlobalOptions global;
    app.add_option("--threads", global.threads, "CPU threads for LibTorch (0 = all cores)")
        ->check(CLI::Range(0, 4096));
    dlw::cli::addInfoCommand(app, global);
    dlw::cli::addEmbedCommand(app, global);
    dlw::cli::addPretrainCommand(app, global);
    dlw::cli::addRunCommand(app, global);
    dlw::cli::addCompareCommand(app, global);
    dlw::cli::addPredictCommand(app, global);
    dlw::cli::addQueueCommand(app, global);
    dlw::cli::addReportCommand(app, global);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {  // --help, --version
            return app.exit(e);
        }
        // One line, as every other error (#14): CLI11 prints the message and a second line.
        std::string what = e.what();
        std::replace(what.begin(), what.end(), '\n', ' ');
        std::cerr << "dlw: error: " << dlw::displayText(what) << " (see dlw --help)\n";
        return 2;
    } catch (const dlw::cli::ExitCode& e) {
        return e.code;
    } catch (const dlw::Error& e) {
        std::cerr << "dlw: error: " << dlw::displayText(e.what()) << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "dlw: internal error: " << dlw::displayText(e.what()) << "\n";
        return 3;
    }
    return 0;
}
