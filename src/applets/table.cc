// The one table of applets. Add a line here and a file in src/applets/.
#include "applets/applet.h"

namespace ctk {

extern const Applet kHelpApplet;
extern const Applet kBootApplet;
extern const Applet kImagesApplet;
extern const Applet kInspectApplet;
extern const Applet kLoadApplet;
extern const Applet kLoginApplet;
extern const Applet kLogoutApplet;
extern const Applet kMkinitfsApplet;
extern const Applet kMkrootfsApplet;
extern const Applet kPullApplet;
extern const Applet kRmiApplet;
extern const Applet kRunApplet;
extern const Applet kSaveApplet;
extern const Applet kTagApplet;
extern const Applet kVminitdApplet;

std::span<const Applet* const> all_applets() {
  static const Applet* const table[] = {
      &kHelpApplet,
      &kBootApplet,
      &kImagesApplet,
      &kInspectApplet,
      &kLoadApplet,
      &kLoginApplet,
      &kLogoutApplet,
      &kMkinitfsApplet,
      &kMkrootfsApplet,
      &kPullApplet,
      &kRmiApplet,
      &kRunApplet,
      &kSaveApplet,
      &kTagApplet,
      &kVminitdApplet,
  };
  return table;
}

}  // namespace ctk
