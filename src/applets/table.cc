// The one table of applets. Add a line here and a file in src/applets/.
#include "applets/applet.h"

namespace ctk {

extern const Applet kHelpApplet;
extern const Applet kBootApplet;
extern const Applet kMkinitfsApplet;
extern const Applet kMkrootfsApplet;
extern const Applet kRunApplet;
extern const Applet kVminitdApplet;

std::span<const Applet* const> all_applets() {
  static const Applet* const table[] = {
      &kHelpApplet,
      &kBootApplet,
      &kMkinitfsApplet,
      &kMkrootfsApplet,
      &kRunApplet,
      &kVminitdApplet,
  };
  return table;
}

}  // namespace ctk
