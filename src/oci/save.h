// `ctk save`: images from the store into an OCI image archive (a tar of an
// OCI image layout: oci-layout, index.json naming each image by its store
// reference, blobs/sha256/), which `skopeo ... oci-archive:FILE`, `docker
// load` and `ctk load` read. The file appears only when complete.
#pragma once

#include <string>
#include <vector>

#include "oci/store.h"

namespace ctk::oci {

// `names` as Store::resolve takes them, or docker's image ids (find_image):
// an image given by id is saved without a name, as docker saves it. Fills
// `saved` with the references written (an id for one without a name).
bool save_archive(const Store& store, const std::vector<std::string>& names, const std::string& path,
                  std::vector<std::string>* saved, std::string* err);
// The same archive written to fd as it is made (a pipe is fine: the Docker
// API streams it); `what` names fd in errors. A failure leaves the archive
// cut short, never complete-looking: the end-of-archive blocks come last.
bool save_archive(const Store& store, const std::vector<std::string>& names, int fd, const std::string& what,
                  std::vector<std::string>* saved, std::string* err);

}  // namespace ctk::oci
