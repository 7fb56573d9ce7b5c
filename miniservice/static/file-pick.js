// Names the file a clerk chose in a Chinese file box (templates/admin/file_pick.html).
document.querySelectorAll(".file-pick__input").forEach((input) => {
  const name = input.parentElement.querySelector(".file-pick__name");
  const show = () => { name.textContent = input.files.length ? "已选择：" + input.files[0].name : "未选择文件"; };
  input.addEventListener("change", show);
  show();
});
